//! The prompt: the original system's question, with the catalog's categories numbered. Its
//! version goes into every LLM classification, so a changed prompt is a new, comparable run.

/// Bump when the wording or the numbering scheme changes.
pub const PROMPT_VERSION: &str = "categories-v1";

/// A catalog category as the prompt lists it: slug and Russian display name, in catalog order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptCategory {
    pub slug: String,
    pub name: String,
}

pub const SYSTEM: &str = "Ты сортируешь посты из Telegram-каналов о фрилансе и работе. \
Отвечай кратко, без пояснений.";

/// The user message: the instruction, the numbered categories, then the post.
pub fn user_message(categories: &[PromptCategory], post: &str) -> String {
    let mut message = String::from(
        "Я пришлю пост. Если это вакансия или заказ (кто-то ищет исполнителя и готов платить), \
ответь, к каким категориям из списка он относится: только номера и названия, самые подходящие \
первыми, например «2) Дизайн, 5) Маркетинг и реклама». Если это не вакансия (резюме, реклама, \
курсы, новости, спам, мошенничество), ответь одним словом: нет.\n\nКатегории:\n",
    );
    for (number, category) in categories.iter().enumerate() {
        message.push_str(&format!("{}) {}\n", number + 1, category.name));
    }
    message.push_str("\nПост:\n");
    message.push_str(post);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_numbers_the_catalog_categories_in_order() {
        // given two catalog categories
        let categories = [
            PromptCategory {
                slug: "development".into(),
                name: "Разработка".into(),
            },
            PromptCategory {
                slug: "design".into(),
                name: "Дизайн".into(),
            },
        ];
        // when the prompt is built for a post
        let message = user_message(&categories, "Ищем дизайнера логотипа");
        // then they are listed by number, and the post comes last
        assert!(
            message.contains("\n1) Разработка\n2) Дизайн\n"),
            "{message}"
        );
        assert!(message.ends_with("Пост:\nИщем дизайнера логотипа"));
        assert!(message.contains("ответь одним словом: нет"));
    }
}
