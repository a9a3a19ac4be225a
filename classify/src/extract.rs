//! Structured fields a delivered card shows, read from the post's text: the budget or salary
//! and remote or on-site (the title is `crate::title`). Heuristics: a field we cannot read is
//! `None`.

use std::sync::LazyLock;

use regex::Regex;
use schemas::{Budget, PayPeriod};

static AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    // 15 000 ₽, 15000 руб., от 60 000 рублей, 50к, 1.5k$, $500, 300 usd, 200 €
    Regex::new(
        r"(?ix)
        (?P<pre>[$€])?\s*
        (?P<num>\d{1,3}(?:[\s\u00a0.,]\d{3})+|\d+(?:[.,]\d+)?)
        \s*(?P<k>к|k|тыс\.?|тысяч)?
        \s*(?P<cur>₽|руб\w*\.?|р\.|р|rub|\$|usd|долл\w*|€|eur|евро|usdt)?",
    )
    .expect("amount regex is valid")
});

/// After a lone «р»: a word goes on («5 ребят»), so it was no currency. Checked here rather than
/// by a `\b` in [`AMOUNT`]: a Unicode word boundary keeps the regex off its fast engine on any
/// Cyrillic text.
static WORD_GOES_ON: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\w").expect("word regex is valid"));

static PERIOD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(в|за|/)\s*(час|ч\b|день|сутки|смену|месяц|мес)")
        .expect("period regex is valid")
});

pub fn budget(text: &str) -> Option<Budget> {
    // Most numbers in a post carry no currency: the match alone (a fast scan) shows that, and
    // only the others are searched again for their parts (the slower search with captures).
    let priced = AMOUNT.find_iter(text).filter(|amount| {
        !amount
            .as_str()
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || matches!(c, '.' | ','))
    });
    for amount in priced {
        let Some(captures) = AMOUNT.captures_at(text, amount.start()) else {
            continue;
        };
        let whole = captures.get(0).expect("group 0 is the match");
        let (cur, end) = match captures.name("cur") {
            Some(cur)
                if matches!(cur.as_str(), "р" | "Р")
                    && WORD_GOES_ON.is_match(&text[cur.end()..]) =>
            {
                (None, cur.start())
            }
            cur => (cur, whole.end()),
        };
        let currency = match (captures.name("pre"), cur) {
            (Some(pre), _) => currency_of(pre.as_str()),
            (None, Some(cur)) => currency_of(cur.as_str()),
            // "50к" without a currency: roubles, as Russian posts mean.
            (None, None) if captures.name("k").is_some() => "RUB",
            (None, None) => continue,
        };
        let digits: String = captures["num"]
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
            .collect();
        // A group separator ("15.000", "15,000") or a decimal ("1.5")?
        let grouped = digits.len() > 4
            && digits
                .rsplit(['.', ','])
                .next()
                .is_some_and(|tail| tail.len() == 3);
        let number: f64 = if grouped {
            digits.replace(['.', ','], "").parse().ok()?
        } else {
            digits.replace(',', ".").parse().ok()?
        };
        let multiplier = if captures.name("k").is_some() {
            1000.0
        } else {
            1.0
        };
        let amount = (number * multiplier).round();
        if !(1.0..1e9).contains(&amount) {
            continue;
        }
        let tail = &text[end..];
        let nearby: String = tail.chars().take(24).collect();
        return Some(Budget {
            amount: amount as i64,
            currency: currency.to_owned(),
            period: period(&nearby),
        });
    }
    None
}

fn currency_of(token: &str) -> &'static str {
    let token = token.to_lowercase();
    match token.as_str() {
        "$" | "usd" | "usdt" => "USD",
        "€" | "eur" | "евро" => "EUR",
        t if t.starts_with("долл") => "USD",
        _ => "RUB",
    }
}

fn period(nearby: &str) -> PayPeriod {
    let Some(captures) = PERIOD.captures(nearby) else {
        return PayPeriod::Once;
    };
    match captures[2].to_lowercase().as_str() {
        "час" | "ч" => PayPeriod::Hour,
        "день" | "сутки" | "смену" => PayPeriod::Day,
        _ => PayPeriod::Month,
    }
}

/// `Some(true)` for remote work, `Some(false)` for on-site, `None` when the post does not say.
pub fn remote(text: &str) -> Option<bool> {
    let lower = text.to_lowercase().replace('ё', "е");
    let remote = [
        "удален",
        "удаленк",
        "дистанцион",
        "remote",
        "из дома",
        "#удаленка",
    ];
    let on_site = [
        "в офис",
        "офис в",
        "на территории",
        "on-site",
        "onsite",
        "очно",
    ];
    if remote.iter().any(|w| lower.contains(w)) {
        Some(true)
    } else if on_site.iter().any(|w| lower.contains(w)) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: i64, currency: &str, period: PayPeriod) -> Option<Budget> {
        Some(Budget {
            amount,
            currency: currency.into(),
            period,
        })
    }

    #[test]
    fn budgets_as_posts_write_them() {
        let table = [
            (
                "Бюджет 15 000 ₽ за лендинг",
                money(15_000, "RUB", PayPeriod::Once),
            ),
            (
                "Зарплата от 60 000 рублей в месяц",
                money(60_000, "RUB", PayPeriod::Month),
            ),
            ("Оплата 50к", money(50_000, "RUB", PayPeriod::Once)),
            ("Оплата 50к руб", money(50_000, "RUB", PayPeriod::Once)),
            ("Ставка $25/час", money(25, "USD", PayPeriod::Hour)),
            ("2000р за ролик", money(2_000, "RUB", PayPeriod::Once)),
            ("3 500 руб. в день", money(3_500, "RUB", PayPeriod::Day)),
            ("Budget: 300 usd", money(300, "USD", PayPeriod::Once)),
            ("Ищем дизайнера, 3 года опыта", None),
            // A lone «р» is roubles only when no word goes on from it.
            ("Нужно 5 ребят на склад", None),
            (
                "5 ребят, оплата 900 р/час",
                money(900, "RUB", PayPeriod::Hour),
            ),
            ("Оплата 700 Р. за смену", money(700, "RUB", PayPeriod::Day)),
            ("Итого 1200 р", money(1_200, "RUB", PayPeriod::Once)),
        ];
        for (text, expected) in table {
            assert_eq!(budget(text), expected, "{text}");
        }
    }

    #[test]
    fn remote_or_on_site() {
        assert_eq!(remote("Работа удалённая, гибкий график"), Some(true));
        assert_eq!(remote("Работа в офисе на Павелецкой"), Some(false));
        assert_eq!(remote("Нужен логотип"), None);
    }
}
