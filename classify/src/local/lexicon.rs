//! The hand-written lexicon: words that name a profession of each catalog category, and cues of
//! each kind of post. 299 labelled posts cannot show every way a Russian post names a job
//! ("таргетолог", "директолог", "авитолог" …), so these lists carry what the data lacks. Each
//! list is evidence for one output, and training starts from trusting it (a prior the weight
//! decays towards, see `TrainOptions::cue_prior`); the data then says how much more or less,
//! and a word the model never saw in training still counts through its list.
//!
//! Syntax: patterns separated by spaces; `word*` matches every word starting with `word`
//! (Russian word forms), a bare `word` only itself, and `a_b*` the words `a` then `b*` in a row.
//! Text is normalised first: lower case, ё as е.

use schemas::PostKind;

/// A named list of patterns.
pub struct Cue {
    pub name: &'static str,
    pub evidence: Evidence,
    pub patterns: &'static [&'static str],
}

/// What a cue's hits speak for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// The catalog category named like the cue.
    Category,
    Kind(PostKind),
}

/// One cue per catalog category, in [`super::CATEGORIES`] order.
pub const CATEGORY_CUES: &[Cue] = &[
    Cue {
        name: "development",
        evidence: Evidence::Category,
        patterns: &[
            "разработчик* программист* программир* developer* develop* backend* бэкенд* бекенд* бэк_энд",
            "frontend* фронтенд* фронт_энд fullstack* фулстек* фуллстек* full_stack* верстальщик*",
            "python* питон* java javascript* typescript* js golang go_разработчик* php* laravel* django*",
            "fastapi flask react* vue* angular* node* nodejs next_js nestjs ruby* rails rust kotlin*",
            "swift* ios android* flutter* dart 1с 1c 1с_разработчик* битрикс* bitrix* wordpress*",
            "вордпресс* html* css верстк*_сайт* верстк*_лендинг* devops* девопс* sre sysadmin* сисадмин*",
            "системн*_администратор* kubernetes k8s docker* ansible terraform linux* backend_developer",
            "бот бота боту ботом боты ботов ботам чат_бот* телеграм_бот* telegram_бот* tg_бот* парсер* парсинг* скрипт*_на api",
            "sql postgres* postgresql mysql mongodb redis microservice* микросервис* тимлид* techlead* c_sharp",
            "software* программн*_обеспечени* веб_разработ* web_разработ* разработк*_сайт* создани*_сайт*",
            "сайт_под_ключ лендинг* landing* интернет_магазин* tilda* тильд* webflow* no_code nocode зерокод* zerocoder* unity* unreal*",
            "gamedev*_программист* it_поддержк* техподдержк*_пользовател* helpdesk* хелпдеск*",
            "инженер_программист* embedded микроконтроллер* arduino* блокчейн* blockchain* solidity",
            "smart_контракт* смарт_контракт* web3 приложени* mobile* мобильн*_разработ* qt",
            "dotnet net_разработчик* scala elixir haskell clojure perl delphi pascal",
        ],
    },
    Cue {
        name: "design",
        evidence: Evidence::Category,
        patterns: &[
            "дизайн* designer* design* figma* фигм* ui ux ui_ux ux_ui photoshop* фотошоп* illustrator*",
            "иллюстратор* иллюстрац* illustrat* логотип* logo* лого брендинг* branding* брендбук*",
            "brandbook* фирменн*_стил* айдентик* identity баннер* banner* инфограф* infograph*",
            "карточк*_товар* карточк*_для_маркетплейс* карточк*_wb карточк*_озон* слайд* презентац*",
            "обложк* макет* mockup* прототип* prototyp* типограф* полиграф* визуал* отрисов* отрисуй*",
            "нарисовать нарисуй* рисован* ретушер* ретуш* retouch* canva* канва* веб_дизайн* graphic*",
            "графическ*_дизайн* креатив*_для_реклам* key_visual кейвижуал* стикер* наклейк* мерч*",
            "упаковк*_дизайн* дизайн_упаковк* интерфейс* interface* лендинг_дизайн* web_design",
            "art_director* арт_директор* цветокор* фотограф* photograph* pinterest* behance* dribbble",
        ],
    },
    Cue {
        name: "texts",
        evidence: Evidence::Category,
        patterns: &[
            "копирайт* copywrit* copy_writer* рерайт* rewrit* редактор* редактур* editor* корректор*",
            "корректур* proofread* райтер* writer* автор*_статей автор*_текст* автор*_постов",
            "статья статьи статей статью текст* texts text_writer сценари* сценарист* script_writer*",
            "переводчик* перевод*_текст* перевод*_с_английск* перевод*_на_английск* перевести",
            "translat* локализ* localiz* seo_текст* seo_стат* seo_копирайт* лонгрид* longread*",
            "журналист* journalist* контент_райтер* content_writer* нейминг* слоган* описани*_товар*",
            "редакци* новостник* пресс_релиз* гострайт* ghostwrit* спичрайт* транскрибац* субтитр*",
            "грант* методичк* вычитк* тексты_для",
        ],
    },
    Cue {
        name: "smm",
        evidence: Evidence::Category,
        patterns: &[
            "smm* смм* сммщик* соцсет* социальн*_сет* social_media* контент_менеджер* content_manager*",
            "контент_мейкер* контентмейкер* content_maker* контент_план* контент* сторис* stories",
            "storis* сторисмейкер* инстаграм* instagram* insta* инст вконтакте vk вк тикток* tiktok*",
            "телеграм_канал* telegram_канал* тг_канал* ведени*_канал* ведени*_соцсет* ведени*_аккаунт*",
            "ведени*_инстаграм* комьюнити* community* подписчик* охват* постинг* посты постов пост_в reels_мейкер*",
            "рилсмейкер* reelsmaker* блог* blog* дзен* пинтерест* threads",
        ],
    },
    Cue {
        name: "marketing",
        evidence: Evidence::Category,
        patterns: &[
            "маркетолог* маркетинг* marketing* marketer* таргет* target* директолог* контекстн*",
            "яндекс_директ* директ директа директе direct ppc google_ads seo_специалист* seo_продвиж*",
            "seo_оптимиз* сео* seo продвижени* promotion* трафик* traffic* арбитраж*_трафик* media_buy*",
            "медиабай* медиабаер* медиабайер* байер* buyer* pr пиар* piar* email_маркет* e_mail_маркет*",
            "рассылк* crm* cpa affiliate* performance* growth* бренд_менеджер* brand_manager*",
            "авитолог* авито* avito* посев* закуп*_реклам* закупщик* рекламн* реклам*_кампани*",
            "лидогенер* маркетплейс* wildberries* вайлдберриз* ozon* озон* вб_менеджер* gtm",
            "медиапланир* медиаплан* smm_маркет* вебмастер* webmaster* ссылочн* линкбилд* outreach*",
            "аутрич* influence* инфлюенс* блогер*_реклам* интеграци*_у_блогер* pr_менеджер*",
        ],
    },
    Cue {
        name: "video",
        evidence: Evidence::Category,
        patterns: &[
            "видео* video* монтаж* монтажер* монтажёр* видеомонтаж* видеограф* videograph* съемк*",
            "снять сними* снимать оператор*_съем* видеооператор* рилс* reels* ютуб* youtube* shorts*",
            "motion* моушн* моушен* after_effects aftereffects премьер* premiere* davinci* давинчи*",
            "клип* ролик* режисс* видеоредакт* videoeditor* video_editor* капкат*",
            "capcut* цветокоррекц* color_grading* озвуч* диктор* voice_over* подкаст* podcast*",
            "стрим* кинематограф* cinemat* съемочн* видеопродакшн* продакшн*",
        ],
    },
    Cue {
        name: "animation",
        evidence: Evidence::Category,
        patterns: &[
            "анимац* аниматор* animat* анимир* 3d 3д 2d 2д моделлер* моделер* моделир* modeler*",
            "modeller* modeling* modelling* blender* блендер* maya zbrush* cinema_4d c4d houdini*",
            "гейм_дизайн* геймдизайн* game_design* game_designer* gamedev* геймдев* game_art* game",
            "концепт_арт* concept_art* concept_artist* концепт_художник* художник* artist* персонаж*",
            "character* риггер* rigg* rig визуализатор* визуализац* 3ds_max 3dsmax substance*",
            "спрайт* sprite* пиксел*_арт* pixel_art* текстур* texture* vfx спецэффект* игров* игр",
            "игры unity_художник* лоу_поли low_poly lowpoly скульпт* sculpt* spine live2d",
            "раскадров* storyboard* мультипликац* мультфильм* аниме* anime* кат_сцен*",
        ],
    },
    Cue {
        name: "assistant",
        evidence: Evidence::Category,
        patterns: &[
            "ассистент* assistant* помощник* помощниц* секретар* secretar* администратор*_чат*",
            "администратор*_канал* администратор*_групп* администратор*_сообществ* админ*_чат*",
            "админ*_канал* администратор* модератор* moderat* модерац* личн*_помощник*",
            "бизнес_ассистент* бизнес_помощник* техспец* тех_спец* технич*_специалист*",
            "геткурс* getcourse* виртуальн*_ассистент* virtual_assistant* va",
            "операционн*_менеджер* офис_менеджер* office_manager* делопроизвод*",
            "ввод*_данн* data_entry таблиц* документооборот* расписани* календар* бронирован*",
            "поручени* координатор* coordinator* диспетчер* dispatcher*",
        ],
    },
    Cue {
        name: "sales",
        evidence: Evidence::Category,
        patterns: &[
            "продаж* продажник* продавец* продавц* sales* seller* менеджер*_по_продаж* sales_manager*",
            "звонк* звонить обзвон* холодн*_звонк* колл_центр* call_центр* call_center* кол_центр*",
            "оператор*_call* оператор*_колл* оператор*_чат* оператор*_поддержк* лидоген* lead_gen*",
            "лиды лидов лид лида leads клиент*_поддержк* поддержк*_клиент* support* саппорт* служб*_поддержк*",
            "переговор* сделк* сделок b2b b2c аккаунт_менеджер* account_manager* account_executive*",
            "телемаркет* дожим* клоузер* closer* сеттер* setter* хантер* hunter* скрипт*_продаж*",
            "менеджер*_по_работе_с_клиент* клиентск*_менеджер* client_manager* customer* кастомер*",
            "бизнес_девелопер* business_development* bdm ритейл* торгов*",
        ],
    },
    Cue {
        name: "management",
        evidence: Evidence::Category,
        patterns: &[
            "проджект* project* пм pm менеджер*_проект* руководител*_проект* продакт* product_manager*",
            "product_owner* productowner* продукт_менеджер* продуктов*_менеджер* продюсер* producer*",
            "руководител* head* директор* director* управлен* управляющ* тимлид* team_lead*",
            "методолог* методист* куратор* curator* hr* эйчар* рекрутер* рекрутинг* recruit* ресечер*",
            "подбор*_персонал* scrum* скрам* agile* аджайл* owner* coo cpo cto ceo chief* трекер*",
            "наставник* ментор* mentor* координатор*_проект* delivery_manager* program_manager*",
            "operations_manager* запуск* launch* деливери*",
            "account_director* бренд_шеф* шеф_редактор* главн*_редактор* art_lead*",
        ],
    },
    Cue {
        name: "analytics",
        evidence: Evidence::Category,
        patterns: &[
            "аналитик* analyst* analytic* analytics data_scien* дата_сайентист* сайентист* scientist*",
            "data_analyst* data_engineer* дата_инженер* ml machine_learning машинн*_обучени* ai_engineer*",
            "bi power_bi tableau* looker* metabase* superset* pandas numpy sklearn pytorch* tensorflow*",
            "statistic* статистик* статистич* метрик* a_b_тест* a_b ab_тест* дашборд* dashboard*",
            "юнит_экономик* unit_economic* cv_engineer* nlp llm* big_data бигдата* dwh etl*",
            "system_analyst* системн*_аналитик* бизнес_аналитик* business_analyst* продуктов*_аналитик*",
            "веб_аналитик* web_analyst* data",
        ],
    },
    Cue {
        name: "testing",
        evidence: Evidence::Category,
        patterns: &[
            "тестировщик* тестирован* тестер* tester* testing* qa qa_engineer* qa_инженер* автотест*",
            "автоматизатор*_тестир* selenium* playwright* cypress* postman* jmeter* тест_кейс*",
            "test_case* тест_дизайн* баг* bug* регресс* regression* quality_assurance* sdet",
            "ручн*_тестир* manual_qa* нагрузочн*_тестир* юзабилити_тест* бета_тест* beta_test*",
        ],
    },
];

/// Cues of the kind of a post; each list becomes one feature the model weighs.
pub const KIND_CUES: &[Cue] = &[
    Cue {
        name: "offers_self",
        evidence: Evidence::Kind(PostKind::Resume),
        patterns: &[
            "ищу_работ* ищу_проект* ищу_заказ* ищу_клиент* ищу_подработк* ищу_удаленк* ищу_вакан*",
            "в_поиске_работ* в_поиске_проект* в_поиске_заказ* в_поиске_клиент* в_поиске_вакан*",
            "рассмотр*_предложени* открыт*_к_предложени* открыт*_для_предложени* open_to_work",
            "обо_мне о_себе мой_опыт мои_навыки мои_услуги мои_работы предлагаю_свои_услуги",
            "предлагаю_услуг* меня_зовут возьму_проект* возьму_заказ* возьмусь* готов_взять*",
            "беру_заказ* беру_проект* ожидани*_по_зарплат* зарплатн*_ожидани* желаем*_зарплат*",
            "помогу помогу_с сделаю_для_вас выполню* моё_портфолио мое_портфолио новое_резюме",
            "looking_for_a_job looking_for_work available_for hire_me ищу_работу_в",
            "ищу_постоянн* ищу_заказчик* ищу_новых_клиент* ищу_новых_заказчик* ищу_новые_проект*",
            "я_дизайнер* я_копирайтер* я_разработчик* я_программист* я_таргетолог* я_маркетолог*",
            "я_монтажер* я_видеомонтажер* я_ассистент* я_специалист* я_аналитик* я_тестировщик*",
            "я_smm* я_иллюстратор* я_моушн* я_верстальщик* я_редактор* я_переводчик* я_фотограф*",
        ],
    },
    Cue {
        name: "resume_words",
        evidence: Evidence::Kind(PostKind::Resume),
        patterns: &["резюме cv whois портфолио portfolio кейсы кейс опыт_работы"],
    },
    Cue {
        name: "hiring",
        evidence: Evidence::Kind(PostKind::Vacancy),
        patterns: &[
            "ваканси* vacanc* требует* требуются требуем* ищем нужен нужна нужны ищу_в_команду",
            "в_команду в_нашу_команду присоединяйся* присоединиться обязанност* требовани*",
            "мы_предлагаем предлагаем условия задачи откликнут* отклик* присылай* пришлите",
            "отправляйте зарплат* зп оклад* вилка оформлени* тк_рф занятость график* гибрид*",
            "тз заказчик* оплата_за оплата бюджет* дедлайн* фриланс* freelance* стажер* стажировк*",
            "junior middle senior hiring we_are_looking responsibilit* requirements salary",
            "отзывы_о_компании подробнее разместить_ваканси* hr_менеджер* work_format",
        ],
    },
    Cue {
        name: "learning_ad",
        evidence: Evidence::Kind(PostKind::Ad),
        patterns: &[
            "курс* вебинар* интенсив* обучени* обучаем* урок* мастер_класс* марафон* практикум*",
            "лекци* эфир* трансляци* гайд* чек_лист* книг* научит* научим* узнает* освоит*",
            "освоите записат* запишись регистрир* регистрац* otus skillbox* нетолог* geekbrains",
            "skillfactory яндекс_практикум выпускник* сертификат* студент* карьер* совет*",
            "лайфхак* тренажер* бесплатн*_урок* пройди* пройти_тест* скачать* разбор*",
        ],
    },
    Cue {
        name: "promo_ad",
        evidence: Evidence::Kind(PostKind::Ad),
        patterns: &[
            "скидк* промокод* акци* распродаж* кэшб* кешб* cashback подар* дарит розыгрыш*",
            "подписыва* подпишис* подпишит* подписк* наш_канал наш_чат erid на_правах_рекламы",
            "новост* заказать купить цена магазин* доставк* вкус* меню новинк* оформ*_карт*",
            "по_моей_ссылке реферальн* промо* спонсор* партнер*_канал* анонс*",
            "разыгрыва* разыгра* конкурс* приз* победител* бесплатно",
        ],
    },
    Cue {
        name: "easy_money",
        evidence: Evidence::Kind(PostKind::Scam),
        patterns: &[
            "заработ* доход* в_день в_неделю за_день в_сутки ежедневн* пассивн* без_вложени*",
            "без_опыта прибыл* капитал* финансов*_свобод* легк*_деньг* быстр*_деньг* белая_тема",
            "тема схем* вознагражден* выплат* начислени* usdt долл* дохода от_18 старше_18",
            "возраст* парни девушк* мужчин* женщин* человек* людей набор* набираем* срочно",
            "телефон* с_телефона свободн*_время в_свободное пару_часов часа_в_день легк* прост*",
            "удаленн*_заработ* без_вложений денег деньги подзаработ* деньжат* энергичн*",
            "несложн* не_сложн* легк*_задач* простые_задани* простая_работа",
        ],
    },
    Cue {
        name: "write_me",
        evidence: Evidence::Kind(PostKind::Scam),
        patterns: &[
            "+_в* пиши*_+ пишите_+ напиши*_+ ставь*_+ в_лс в_л лс личк* в_личн* личн*_сообщ* в_директ пиши* пишите писать напиши*",
            "подробност* детали за_подробностями кому_интересно интересно_пиши* жду_в_лс",
        ],
    },
    Cue {
        name: "crypto_gamble",
        evidence: Evidence::Kind(PostKind::Scam),
        patterns: &[
            "крипт* биткоин* bitcoin* btc usdt p2p арбитраж* трейд* trading* трейдинг* инвест*",
            "казино* casino* ставк*_на_спорт букмек* слот* фриспин* игровы*_автомат* binance бинанс*",
            "нфт nft токен* airdrop* майнинг* форекс* forex интим* эскорт* голые наркот* закладк*",
            "кладмен* обнал* дроп* бирж* цифров*_валют* капитал*",
            "депозит* бонус_к_депозит* букмекерск* mostbet* 1win* 1xbet* fonbet* pin_up pinup",
            "точная_ставка ставк*_на_тотал тотал* экспресс* коэффициент* кф прогноз*_на_матч",
        ],
    },
    Cue {
        name: "news",
        evidence: Evidence::Kind(PostKind::Ad),
        patterns: &[
            "назначен* покинул* перешел_в перешла_в сообщил* заявил* по_данным исследован* опрос*",
            "рынок_труда статистик* эксперт* рассказал* рассказыва* выпуск* колонк* читайте",
            "подписывайтесь_на сохраняй* сохраните полезн* статья статьи статью",
        ],
    },
    Cue {
        name: "digest",
        evidence: Evidence::Kind(PostKind::Ad),
        patterns: &[
            "подборк* свежие_ваканси* свежих_ваканси* вакансии_недели вакансии_дня папк* ловите",
            "каналов_с_ваканси* каналы_с_ваканси* как_откликаться как_найти_работ* поиск_работы",
            "резюме_и сопроводительн* тестов*_задани* собеседовани*",
        ],
    },
    Cue {
        name: "gray_scheme",
        evidence: Evidence::Kind(PostKind::Scam),
        patterns: &[
            "серой_нише серая_тема серую_тему наликом налом налик* за_3_часа за_пару_часов",
            "оплата_сразу ежедневные_выплаты выплаты_каждый_день в_руки достойная_оплата",
            "без_труси* фоточки фотки_без",
        ],
    },
    Cue {
        name: "chat",
        evidence: Evidence::Kind(PostKind::Other),
        patterns: &[
            "здравствуйте привет подскажите спасибо пожалуйста вопрос* кто_нибудь как_вы",
            "можно_ли скажите добрый_день доброе_утро добрый_вечер извините ребята коллеги",
        ],
    },
];
