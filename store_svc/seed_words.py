"""Word lists of the demo catalog: Russian nouns with their gender and adjectives in the
matching forms (m, f, n, pl), English nouns and adjectives, made-up brands."""

RU_ITEMS = (  # noun and its grammatical gender: m, f, n or pl
    ("Чайник", "m"), ("Кружка", "f"), ("Лампа", "f"), ("Стол", "m"), ("Кресло", "n"),
    ("Рюкзак", "m"), ("Куртка", "f"), ("Наушники", "pl"), ("Сковорода", "f"),
    ("Пылесос", "m"), ("Полотенце", "n"), ("Ножницы", "pl"), ("Термос", "m"),
    ("Подушка", "f"), ("Зонт", "m"), ("Одеяло", "n"), ("Фонарь", "m"), ("Чемодан", "m"),
    ("Часы", "pl"), ("Ваза", "f"), ("Плед", "m"), ("Блендер", "m"), ("Кастрюля", "f"),
)  # fmt: skip
RU_ADJECTIVES = (  # m, f, n, pl
    ("электрический", "электрическая", "электрическое", "электрические"),
    ("складной", "складная", "складное", "складные"),
    ("компактный", "компактная", "компактное", "компактные"),
    ("керамический", "керамическая", "керамическое", "керамические"),
    ("беспроводной", "беспроводная", "беспроводное", "беспроводные"),
    ("детский", "детская", "детское", "детские"),
    ("туристический", "туристическая", "туристическое", "туристические"),
    ("хлопковый", "хлопковая", "хлопковое", "хлопковые"),
    ("стальной", "стальная", "стальное", "стальные"),
    ("деревянный", "деревянная", "деревянное", "деревянные"),
)
RU_COLOURS = (
    ("синий", "синяя", "синее", "синие"),
    ("красный", "красная", "красное", "красные"),
    ("чёрный", "чёрная", "чёрное", "чёрные"),
    ("белый", "белая", "белое", "белые"),
    ("зелёный", "зелёная", "зелёное", "зелёные"),
    ("серый", "серая", "серое", "серые"),  # noqa: RUF001
)
RU_FEATURES = (
    "Подходит для дома и дачи.", "Легко моется, не боится влаги.",
    "Прочный корпус выдерживает падения.", "Удобно брать с собой в поездки.",  # noqa: RUF001
    "Экологичные материалы без запаха.", "Тихо работает и не греется.",
    "Продуманная эргономика для каждого дня.", "Отличный подарок близким.",
)  # fmt: skip
EN_ITEMS = (
    "Kettle", "Mug", "Desk Lamp", "Office Chair", "Backpack", "Headphones", "Frying Pan",
    "Vacuum Cleaner", "Bath Towel", "Thermos", "Umbrella", "Blanket", "Flashlight",
    "Suitcase", "Wall Clock", "Vase", "Blender", "Saucepan",
)  # fmt: skip
EN_ADJECTIVES = (
    "Electric", "Foldable", "Compact", "Ceramic", "Wireless", "Stainless Steel", "Wooden",
    "Cotton", "Travel", "Kids'", "Ergonomic", "Waterproof",
)  # fmt: skip
EN_COLOURS = ("blue", "red", "black", "white", "green", "grey", "sand", "olive")
EN_FEATURES = (
    "Built to last and easy to clean.", "Light enough to take anywhere.",
    "Quiet, efficient and safe for everyday use.", "Made from recycled materials.",
    "A thoughtful gift for friends and family.", "Designed for small apartments.",
)  # fmt: skip
BRANDS = (
    "Берёзка", "Уютный дом", "Северный ветер", "Самоцвет", "Nordic Line", "HomeCraft",
    "UrbanTrail", "Aurora", "Terra", "Polar Fox",
)  # fmt: skip
GENDER = {"m": 0, "f": 1, "n": 2, "pl": 3}
