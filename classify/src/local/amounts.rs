//! Amounts that tell kinds apart, whatever words surround them:
//!
//! * pay per day as job bait states it ("от 5000 в день", "10к/сутки", "от 250$ в день"): real
//!   vacancies state pay per month, hour or project, and a daily figure in the thousands is the
//!   most reliable single sign of a scam;
//! * counts of vacancies ("152 свежие вакансии", "88 предложений"): a post that counts them
//!   points to a channel or a site, it is not one.

use super::text::{Word, words};

/// Roubles to a dollar or a euro, roughly: bait quotes dollars to look bigger.
const ROUBLES_PER_FOREIGN_UNIT: u32 = 90;

/// Words allowed between the amount and the day: currency and prepositions.
fn is_filler(word: &str) -> bool {
    matches!(
        word,
        "в" | "за"
            | "до"
            | "от"
            | "р"
            | "руб"
            | "рублей"
            | "рубля"
            | "rub"
            | "a"
            | "per"
            | "in"
    ) || is_foreign_currency(word)
}

fn is_foreign_currency(word: &str) -> bool {
    matches!(word, "usd" | "eur" | "usdt" | "euro" | "евро") || word.starts_with("долл")
}

fn is_day(word: &str) -> bool {
    word.starts_with("день")
        || word.starts_with("дня")
        || word.starts_with("сутк")
        || word.starts_with("смен")
        || word == "day"
}

fn is_thousand(word: &str) -> bool {
    word.starts_with("тыс") || matches!(word, "к" | "k" | "т" | "тр")
}

/// The largest amount per day in roubles, if the post names one. `words_of_text` are the
/// words of `normalised`; currency signs are not words, so a text with `$` or `€` is split again with
/// them spelled out.
pub fn daily_pay(normalised: &str, words_of_text: &[Word<'_>]) -> Option<u32> {
    if normalised.contains(['$', '€']) {
        let spelled = normalised.replace('$', " usd ").replace('€', " eur ");
        return daily_pay_in(&words(&spelled));
    }
    daily_pay_in(words_of_text)
}

fn daily_pay_in(words: &[Word<'_>]) -> Option<u32> {
    let mut best: Option<u32> = None;
    let mut i = 0;
    while i < words.len() {
        let Some((amount, consumed)) = amount_at(&words[i..]) else {
            i += 1;
            continue;
        };
        let after = &words[i + consumed..];
        let per_day = after
            .iter()
            .take(4)
            .map(|w| w.text)
            .find(|w| !is_filler(w))
            .is_some_and(is_day);
        let foreign = (i > 0 && is_foreign_currency(words[i - 1].text))
            || after.iter().take(2).any(|w| is_foreign_currency(w.text));
        let amount = if foreign {
            amount.saturating_mul(ROUBLES_PER_FOREIGN_UNIT)
        } else {
            amount
        };
        // "2 дня" is a deadline, not pay: nobody pays less than a hundred a day.
        if per_day && amount >= 100 {
            best = best.max(Some(amount));
        }
        i += consumed;
    }
    best
}

/// The largest count of vacancies the post announces ("40 вакансий", "152 свежие вакансии").
pub fn listed_vacancies(words: &[Word<'_>]) -> u32 {
    let is_vacancies = |w: &str| w.starts_with("ваканси") || w.starts_with("предложени");
    let is_adjective = |w: &str| {
        ["свеж", "нов", "актуальн", "интересн", "горяч", "удаленн"]
            .iter()
            .any(|stem| w.starts_with(stem))
    };
    (0..words.len())
        .filter_map(|i| {
            let count: u32 = words[i].text.parse().ok()?;
            let next = words.get(i + 1)?.text;
            let noun = if is_adjective(next) {
                words.get(i + 2)?.text
            } else {
                next
            };
            is_vacancies(noun).then_some(count)
        })
        .max()
        .unwrap_or(0)
}

/// An amount starting at the first word ("5000", "5 000", "5000р", "10к", "3 тыс"), with how
/// many words it took; `None` past `u32` (posts are untrusted text).
fn amount_at(words: &[Word<'_>]) -> Option<(u32, usize)> {
    let first = words.first()?.text;
    let digits = first.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 7 {
        return None;
    }
    let mut amount: u32 = first[..digits].parse().ok()?;
    let mut consumed = 1;
    let suffix = &first[digits..];
    // "5 000": thousands written apart.
    if suffix.is_empty()
        && let Some(next) = words.get(1)
        && next.text.len() == 3
        && next.text.bytes().all(|b| b.is_ascii_digit())
    {
        amount = amount
            .checked_mul(1000)?
            .checked_add(next.text.parse().ok()?)?;
        consumed = 2;
    } else if is_thousand(suffix) {
        amount = amount.checked_mul(1000)?;
    } else if suffix.is_empty() && words.get(1).is_some_and(|w| is_thousand(w.text)) {
        amount = amount.checked_mul(1000)?;
        consumed = 2;
    }
    Some((amount, consumed))
}

#[cfg(test)]
mod tests {
    use super::super::text::{normalise, words};
    use super::*;

    fn pay(text: &str) -> Option<u32> {
        let normalised = normalise(text);
        daily_pay(&normalised.text, &words(&normalised.text))
    }

    #[test]
    fn given_bait_phrasings_when_read_then_the_daily_amount_is_found() {
        let table = [
            ("Доход от 5000 в день", Some(5000)),
            ("от 5 000 ₽ в день", Some(5000)),
            ("10к/сутки без опыта", Some(10_000)),
            ("3 тыс. руб. за день", Some(3000)),
            ("от 2000р в день, до 7000 р. за смену", Some(7000)),
            ("Достойная оплата от 250$ в день", Some(22_500)),
            ("$100 в день на телефоне", Some(9000)),
            ("Зарплата 120 000 в месяц", None),
            ("1500 руб/час", None),
            ("Бюджет 5000, срок 2 дня", None),
            // Untrusted text: amounts past u32 are no amounts, never a panic.
            ("9999999 000 в день", None),
            ("4294968к в день", None),
            ("9999999 тыс в день", None),
        ];
        for (text, expected) in table {
            assert_eq!(pay(text), expected, "{text}");
        }
    }

    #[test]
    fn given_posts_counting_vacancies_when_read_then_the_count_is_found() {
        let table = [
            ("Утреннюю подборку из 40 вакансий можно увидеть здесь", 40),
            ("152 свежие вакансии https://finder.work", 152),
            (
                "Дизайнеры (88 предложений): Ux/ui дизайнеры: 28 предложений",
                88,
            ),
            ("Ищем 2 дизайнеров, зарплата 100 000", 0),
            ("Открыта вакансия: дизайнер", 0),
            ("40 вакансий", 40),
            ("Смотрите 12 свежих", 0),
        ];
        for (text, expected) in table {
            let normalised = normalise(text);
            assert_eq!(
                listed_vacancies(&words(&normalised.text)),
                expected,
                "{text}"
            );
        }
    }
}
