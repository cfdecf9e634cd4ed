"""
Word lists, sentence templates and the small grammar helpers of each language of the generated "embedded"
corpus. The template syntax and the generator that uses these tables are in generate.py; to change what
the stories say in a language, edit its dict here.
"""
import re

def _l(s):
    """A word list written as one string, split on ';' if it has one, else on ',' if it has one, else on spaces."""
    sep = ';' if ';' in s else ',' if ',' in s else None
    return [w.strip() for w in s.split(sep) if w.strip()] if sep else s.split()


def _suffix(w, s):
    """An ending added to a word, one 'e' kept where both have it: leise + er -> leiser."""
    return w + (s[1:] if w.endswith('e') and s.startswith('e') else s)


# Each language is one dict: noun(entry, list_name) -> {form: text, ..., 'g': 0 masc / 1 fem / 2 neut} for
# the noun lists (kinds, helpers, things, places, homes); agree(word, g) -> the word agreeing with gender g;
# sep between sentences; optional post(text) for contractions; names_m, names_f, syll (made-up names);
# any other word lists its templates use; beats: the templates of every beat in OUTLINE; problem: pairs of
# (problem, solution) templates.

# --------------------------------------------------------------------------------------------- English
def _noun_eng(e, kind):
    w, _, prep = e.partition('@')
    return {'': w, 'loc': f"{prep or 'in'} the {w}", 'dir': f"to the {w}", 'g': 0}


_AN = re.compile(r"\b([Aa]) (?=[aeiou](?!ni|s[eu]|ur)|honest)")  # "an owl", "an honest", "a unicorn"

ENG = dict(
    noun=_noun_eng, agree=lambda w, g: w, sep=' ', post=lambda t: _AN.sub(r'\1n ', t),
    names_m=_l("Tom Sam Max Ben Leo Jack Oliver Harry Charlie Oscar Finn Toby Alfie Henry Archie Teddy Jasper "
               "Felix Hugo Milo Rufus Barnaby Otis Percy Ollie Freddie Louis Arthur Reggie Rory"),
    names_f=_l("Lily Emma Mia Lucy Rosie Ella Daisy Grace Ruby Poppy Molly Hazel Ivy Alice Evie Maisie Willow "
               "Isla Matilda Clara Holly Luna Pippa Nora Elsie Bella Florence Hattie Mabel Tilly"),
    syll=_l("mi la bo ren tu pi ka lo zan fe ri do nel sa vi po ta bel mo lin ju wen ko bri"),
    kinds=_l("fox rabbit owl bear mouse cat dog duck frog hedgehog squirrel badger deer wolf goat lamb pony "
             "horse donkey pig cow hen goose swan turtle snail beetle ladybug butterfly bee ant spider cricket "
             "moth bat crow robin sparrow parrot penguin seal otter beaver raccoon mole lizard crab fish whale "
             "dolphin octopus kitten puppy tiger lion elephant giraffe zebra monkey panda koala kangaroo camel "
             "llama moose hare weasel hamster chick dragon unicorn firefly woodpecker heron stork flamingo "
             "pelican toad chipmunk porcupine walrus seahorse"),
    helpers=_l("old owl, wise turtle, baker, farmer, fisherman, teacher, grandmother, grandfather, sailor, "
               "painter, doctor, gardener, shopkeeper, miller, tailor, carpenter, mail carrier, beekeeper, "
               "shepherd, blacksmith, librarian, firefighter, pilot, clockmaker, potter, weaver, fairy, giant, "
               "wizard, queen, king, princess, prince, knight, forest ranger, nurse, cook, musician, woodcutter, "
               "lighthouse keeper, kind old bear, clever crow"),
    things=_l("kite ball book hat scarf lantern key map shell stone feather ribbon balloon drum flute bell boat "
              "basket blanket button candle clock coin crown cup doll egg fan flag glove harp horn jar kettle "
              "ladder lamp marble mirror mitten necklace net paintbrush pearl pebble pencil pillow pinwheel "
              "puzzle quilt ring rope sail seed sled spoon star statue sword teapot telescope tent ticket toy "
              "train trumpet umbrella vase violin wagon whistle compass crayon diary envelope flashlight globe "
              "hammock helmet locket magnet notebook parcel pinecone postcard rocket treasure chest bucket "
              "shovel spinning-top harmonica bicycle backpack bottle picture present snow-globe music-box "
              "paper-boat"),
    places=_l("forest meadow river@by lake@by hill@on mountain@on valley village town market@at garden orchard "
              "farm@on barn beach@at harbor@at island@on cave bridge@on castle tower library@at school@at "
              "park pond@by field desert jungle swamp glade waterfall@by lighthouse@at bakery@at kitchen attic "
              "cellar station@at zoo@at museum@at playground@at fair@at circus@at woods cornfield vineyard "
              "canyon volcano@near glacier@on cliff@on shore@on marsh grove clearing prairie lagoon@by"),
    homes=_l("burrow cottage nest den hut treehouse house cabin barn hollow windmill lighthouse houseboat "
             "igloo tent shed caravan"),
    flaw=_l("clumsy grumpy lazy messy nervous silly sleepy stubborn timid fussy noisy cheeky forgetful impatient "
            "bossy greedy shy"),
    trait=_l("brave curious shy clever gentle kind cheerful playful careful quiet noisy lively clumsy patient "
             "cheeky dreamy friendly funny generous grumpy helpful honest hungry lazy lucky merry messy modest "
             "nervous polite proud silly sleepy smart stubborn sweet thoughtful timid wise young bold busy "
             "calm daring eager fearless jolly bouncy chatty fussy"),
    adj=_l("shiny old tiny big small round soft warm bright golden silver magic secret beautiful "
           "strange wonderful sparkly smooth heavy light long tall wide deep fluffy fuzzy shimmering glowing "
           "dusty rusty wooden velvet crooked enormous little precious rare fragile sweet ancient new famous "
           "special lucky colorful striped spotted square pointed curly twisty gleaming marvelous mysterious "
           "enchanted elegant delicate polished glittering huge"),
    col=_l("red blue green yellow orange purple pink brown black white gray turquoise violet scarlet "
           "lavender crimson amber emerald"),
    feel_good=_l("happy glad proud joyful cheerful delighted excited thankful calm safe warm cozy peaceful "
                 "hopeful relieved content grateful merry pleased loved satisfied thrilled amazed"),
    feel_bad=_l("sad worried scared afraid lonely tired upset nervous cold hungry grumpy confused angry unhappy "
                "frightened gloomy miserable disappointed anxious sorry lost cross shaky homesick"),
    act=_l("play hide and seek, sing songs, dance in the rain, build sandcastles, collect shells, climb trees, "
           "paint pictures, read stories, bake cookies, count the stars, watch the clouds, chase butterflies, "
           "splash in puddles, pick flowers, fly kites, ride bicycles, play the drum, tell jokes, "
           "make paper boats, plant seeds, jump over logs, roll down hills, swim in the lake, skip stones, "
           "look for treasure, draw maps, play the flute, whistle tunes, catch raindrops, feed the ducks, "
           "visit friends, nap in the sun, learn new words, build towers of blocks, blow soap bubbles, "
           "listen to the birds, explore the woods, knit scarves, sort buttons, stack pebbles, hum lullabies, "
           "race the wind, make daisy chains"),
    food=_l("honey, berries, apples, carrots, bread, cheese, soup, cookies, cake, porridge, pears, plums, nuts, "
            "acorns, pancakes, jam, milk, tea, lemonade, grapes, cherries, peaches, corn, peas, beans, rice, "
            "noodles, pie, muffins, oranges, bananas, melon, strawberries, blueberries, raspberries, toast, "
            "butter, eggs, biscuits, mushrooms, potatoes, pumpkin soup, apple pie, cinnamon buns, dumplings, "
            "yogurt, figs, dates, walnuts, hazelnuts, chestnuts, clover, lettuce, cabbage, cucumbers, tomatoes"),
    sights=_l("flowers daisies tulips roses poppies mushrooms ferns pebbles stones shells leaves pinecones "
              "trees oaks birches willows bushes reeds clouds butterflies bees birds dragonflies fireflies "
              "puddles hills rocks streams waves stars houses fences windmills sheep cows sunflowers "
              "dandelions berries acorns feathers logs meadows ponds"),
    smell=_l("pine, rain, roses, fresh bread, honey, wet grass, salt, mint, smoke, apples, lavender, soap, "
             "cinnamon, moss, the sea, warm hay, lilacs"),
    sound=_l("a soft hum, a loud splash, a tiny squeak, a happy whistle, a low rumble, a gentle buzz, "
             "a quiet giggle, a sharp crack, a distant bell, a funny honk, a sleepy yawn, a sweet song, "
             "a deep roar, a quick tap-tap-tap, a faraway drum, a creaky door, a rustle in the leaves"),
    weather=_l("The sun was warm and bright., A cool wind blew through the trees., Soft rain began to fall., "
               "The sky was blue and clear., Fluffy clouds drifted by., Birds sang in every bush., "
               "Snowflakes danced in the air., A big round moon rose over the hills., "
               "Mist hung over the water., A rainbow appeared after the rain., Leaves crunched under their feet., "
               "The grass was wet with dew."),
    time=_l("One morning, One sunny morning, One rainy afternoon, Early one spring day, "
            "On a cold winter evening, One summer night, Late one autumn afternoon, On the first day of spring, "
            "One foggy morning, On a windy day, One Sunday, On a snowy morning"),
    move=_l("walked ran hopped skipped marched wandered raced strolled trotted hurried tiptoed dashed "
            "scampered waddled jogged zoomed shuffled"),
    say=_l("said whispered shouted called cried laughed giggled sighed squeaked exclaimed mumbled yelled "
           "chuckled murmured"),
    rel=_l("mother, father, grandma, grandpa, little sister, little brother, aunt, uncle, cousin, neighbor"),
    garment=_l("scarf, hat, coat, sweater, cap, jacket, vest, bow tie, cloak, pair of boots, raincoat, "
               "ribbon, belt, apron, hood"),
    reason_q=_l("it is so pretty, I have never had one, it would make everyone happy, I dreamed about it, "
                "it is the best thing in the world, I want to share it with you, they say it is magic"),
    lesson=_l("friends make every road shorter, it is good to ask for help, "
              "being brave means trying even when you are scared, sharing makes joy bigger, "
              "small steps can take you very far, kindness always comes back, patience is a kind of magic, "
              "every problem has a way out, listening is as important as talking, "
              "home is wherever your friends are"),
    beats=dict(
        intro=["Once upon a time, there was a {trait} little {K} named {A}.",
               "{time}, a {trait} {K} called {A} woke up early in [A:his|her] {Q}.",
               "Far away, {W.loc}, lived a {K} named {A}.",
               "{A} was a {trait} {K} who lived {W.loc}.",
               "There once was a {K} named {A} who lived in a {adj} {Q} {W.loc}.",
               "Long ago, {W.loc}, there lived a {trait} {K}. [A:His|Her] name was {A}.",
               "This is a story about {A}, a {trait} {K} from the {W}."],
        desc=["[A:He|She] loved to {act} and to {act}.",
              "Every day, {A} liked to {act} with [A:his|her] {rel}.",
              "{A} was {trait}, but sometimes [A:he|she] was a little {flaw} too.",
              "{A}'s favorite food was {food}, and [A:he|she] ate it every (morning|evening|Sunday).",
              "[A:He|She] always wore a {col} {garment}, even (on hot days|in the bath|when it rained|at night).",
              "Everyone {W.loc} knew {A}, because [A:he|she] (laughed|sang|talked) so (loudly|often|sweetly).",
              "{A} had a {adj} {things} that [A:he|she] kept under [A:his|her] bed.",
              "When it rained, {A} liked to stay inside and "
              "(paint pictures|read stories|bake cookies|build towers of blocks|sort buttons).",
              "[A:His|Her] {rel} often said, \"{A}, you are the most {trait} {K} I know.\""],
        home=["[A:His|Her] {Q} was {adj} and cozy, with a {col} door and a view of the {sights}.",
              "At night, {A} slept in [A:his|her] {Q} under a {col} blanket.",
              "Next to [A:his|her] {Q} there were {sights} and {sights}."],
        want=["{time}, {A} (decided|wished|wanted) to find a {adj} {T}.",
              "More than anything, {A} wanted a {col} {T}.",
              "{time}, {A} heard about a {adj} {T} hidden {P.loc}.",
              "{A} dreamed of a {T} that was {adj} and {col}.",
              "[A:His|Her] {rel} had once told [A:him|her] about a {adj} {T} {P.loc}.",
              "{time}, {A} looked out of the window and said, \"Today I will find a {T}!\"",
              "{A} (had lost|could not find) [A:his|her] favorite {T}, and [A:he|she] thought it was {P.loc}."],
        reason=["[A:He|She] wanted to give it to [A:his|her] {rel} as a present.",
                "With a {T}, [A:he|she] could {act} all day long.",
                "It would make [A:his|her] {rel} very (happy|glad|proud).",
                "Nobody {W.loc} had ever seen one before.",
                "[A:He|She] had (wanted|wished for) one since [A:he|she] was very small."],
        friend=["[A:His|Her] best friend was a {trait} {F} named {B}.",
                "{A} went to see [A:his|her] friend {B}, a {trait} {F} who lived nearby.",
                "On the way, [A:he|she] met {B} the {F}, who was busy trying to {act}.",
                "{A} knocked on the door of [A:his|her] friend {B}, a {trait} little {F}."],
        say_want=["\"{B}, I want to find a {T}!\" {A} {say}. \"Will you come with me?\"",
                  "\"Let's go {P.dir}!\" {A} {say}. \"I heard there is a {adj} {T} there.\"",
                  "\"Can you help me?\" {A} asked {B}. \"I am looking for a {T}.\"",
                  "\"Why do you want a {T}?\" asked {B}. \"Because {reason_q},\" {A} {say}.",
                  "\"Guess what, {B}!\" {A} {say}. \"There is a {T} {P.loc}, and I want to find it.\""],
        reply=["\"Of course!\" {B} {say}. \"I love adventures.\"",
               "{B} (smiled|nodded|laughed|jumped up). \"Yes, let's go together,\" [B:he|she] {say}.",
               "\"I am a little {feel_bad}, but I will come,\" {B} {say}.",
               "\"That sounds (wonderful|fun|exciting|like a good plan)!\" {B} {say}. \"I will bring some {food}.\""],
        travel=["So {A} and {B} {move} {P.dir}.",
                "They {move} past the {W}, over a (wooden|narrow|rickety|stone|mossy) bridge and through "
                "a field of {sights}.",
                "The two friends walked for a long time. {weather}",
                "First they came to a {places}, where there were {sights} everywhere.",
                "{A} {move} ahead, and {B} followed close behind.",
                "They crossed a (cold|shallow|babbling|clear) stream and climbed a (steep|grassy|rocky|windy) hill.",
                "The path to the {P} was long and (winding|narrow|steep|shady|muddy|bumpy|rocky)."],
        sight=["There were {col} {sights} and {adj} {sights} all around.",
               "{weather}",
               "A {kinds} was (sleeping|singing|dancing|yawning|reading a book|washing its face) by the path.",
               "The air smelled of {smell}.",
               "Everywhere they looked, there were {sights}.",
               "Somewhere nearby, they heard {sound}.",
               "{B} pointed at the {sights} and said, \"Look how (pretty|big|tiny|funny|many) they are!\""],
        event=["They stopped to eat {food} and {food}.",
               "A {trait} {kinds} asked them, \"Where are you going?\" \"We are going {P.dir},\" {A} {say}.",
               "They met a {kinds} named {name}, who gave them some {food}.",
               "{A} found a {adj} {things} and put it in [A:his|her] pocket.",
               "They sang a song about {sights} and {food} as they walked.",
               "{B} told a funny story about a {kinds} who wanted to {act}, and {A} laughed and laughed.",
               "They rested under a big tree and watched the {sights}."],
        feel_bad=["{A} felt {feel_bad} and {feel_bad}.",
                  "{A} sat down on a stone and began to cry.",
                  "[A:His|Her] heart felt heavy, and even {B} looked {feel_bad}.",
                  "For a moment, nobody said anything."],
        say_worry=["\"What will we do now?\" {A} (asked|whispered|sighed).",
                   "\"We will never get the {T},\" {A} said (sadly|softly|quietly).",
                   "\"Don't give up,\" {B} {say}. \"There is always a way.\"",
                   "\"Maybe we should go home,\" {B} whispered. \"No,\" {A} {say}. \"Not yet.\""],
        helper=["Just then, a {H} came along.",
                "Then they heard a voice. It was a {H}, who had seen everything.",
                "Luckily, a {H} lived nearby.",
                "Suddenly, {A} had an idea. [A:He|She] ran to ask the {H} for help.",
                "A {H} was walking by with a {things} under one arm."],
        say_help=["\"Don't worry,\" said the {H}. \"I can help you.\"",
                  "\"What is the matter, little ones?\" asked the {H}. {A} told the whole story.",
                  "\"Please help us,\" {A} said to the {H}. \"We need the {T}.\"",
                  "The {H} listened carefully and said, \"I know just what to do.\""],
        get=["At last, {A} held the {adj} {T}.",
             "{A} picked up the {T}. It was even (lovelier|shinier|prettier) than [A:he|she] had imagined.",
             "\"We did it!\" shouted {A} and {B} together.",
             "{A} (jumped|danced|laughed|spun around) with joy. The {T} was [A:his|hers] at last."],
        ret=["Then {A} and {B} walked home together as the sun went down.",
             "They thanked the {H} and went back to {A}'s {Q}.",
             "On the way home, they (sang|laughed|talked) about their adventure.",
             "When they got home, {A}'s {rel} was waiting with warm {food}."],
        feel_good=["{A} felt {feel_good} and {feel_good}.",
                   "That night, {A} fell asleep with a big smile.",
                   "{B} was {feel_good} too, because friends share their joy."],
        moral=["{A} learned that {lesson}.",
               "And from that day on, {A} and {B} were the best of friends.",
               "\"Next time, we will find a {things} too!\" {A} said, and {B} laughed.",
               "The end.",
               "The {T} still sits in {A}'s {Q} today."]),
    problem=[("But when they got there, the {T} was stuck high up in a tall tree.",
              "The {H} climbed up and brought the {T} down."),
             ("But a wide river ran between them and the {T}.",
              "The {H} showed them some stepping stones, and they hopped across one by one."),
             ("But the {T} was locked inside an old box, and nobody had the key.",
              "The {H} found a tiny key under a stone, and the box opened with a click."),
             ("Suddenly, dark clouds came, and a big storm began.",
              "The {H} let them wait in a dry place until the sun came back."),
             ("But it was so dark that they could not see anything.",
              "The {H} brought a lantern, and soon they could see the {T} shining nearby."),
             ("Then {A} (tripped|slipped) and lost the map.",
              "The {H} knew the way and led them along a secret path."),
             ("But a grumpy {kinds} was sitting on the {T} and would not move.",
              "The {H} asked politely, and the grumpy animal moved away with a yawn."),
             ("But the {T} had fallen into a deep hole.",
              "The {H} lowered a rope, and {A} pulled the {T} up."),
             ("But the path was blocked by a big fallen tree.",
              "Together with the {H}, they pushed and pushed until the tree rolled away."),
             ("But {B} got tired and sat down. [B:He|She] could not walk any further.",
              "The {H} gave them some {food}, and soon {B} felt strong again."),
             ("But the {T} was broken into three pieces.",
              "The {H} fixed it with glue, string and a lot of patience."),
             ("But a thick fog covered everything, and they got lost.",
              "The {H} sang loudly, and they followed the song out of the fog.")],
)


# ---------------------------------------------------------------------------------------------- German
_DE_ART = {'': ('der', 'die', 'das'), 'acc': ('den', 'die', 'das'), 'dat': ('dem', 'der', 'dem'),
           'a': ('ein', 'eine', 'ein'), 'aacc': ('einen', 'eine', 'ein'), 'adat': ('einem', 'einer', 'einem')}


def _noun_deu(e, kind):
    e, _, prep = e.partition('@')
    art, w = e.split(' ', 1)
    g = ('der', 'die', 'das').index(art)
    forms = {k: f"{a[g]} {w}" for k, a in _DE_ART.items()}
    prep = prep or 'in'
    return dict(forms, bare=w, g=g, loc=f"{prep} {_DE_ART['dat'][g]} {w}", dir=f"{prep} {_DE_ART['acc'][g]} {w}")


_DE_CONTRACT = re.compile(r"\b([IiAaZzVvBb](?:n|u|on|ei)) (dem|das|der)\b")
_DE_SHORT = {'in dem': 'im', 'an dem': 'am', 'in das': 'ins', 'an das': 'ans', 'zu dem': 'zum', 'zu der': 'zur',
             'von dem': 'vom', 'bei dem': 'beim'}


def _de_contract(m):
    short = _DE_SHORT.get(f"{m.group(1).lower()} {m.group(2)}")
    return m.group(0) if short is None else (short.capitalize() if m.group(1)[0].isupper() else short)


DEU = dict(
    noun=_noun_deu, agree=lambda w, g: _suffix(w, ('er', 'e', 'es')[g]), sep=' ',
    post=lambda t: _DE_CONTRACT.sub(_de_contract, t),
    names_m=_l("Lukas Felix Jonas Paul Emil Leon Ben Finn Max Anton Jakob Noah Oskar Karl Theo Moritz Leo "
               "Fritz Hans Johann Mats Till Ole"),
    names_f=_l("Anna Emma Mia Lena Lina Marie Clara Ida Greta Frieda Lotte Hanna Sophie Mila Ella Nele Paula "
               "Luise Emilia Johanna Wilma Merle Jule"),
    syll=_l("mi la bo ren tu pi ka lo fe ri do nel sa wi po ta bel mo lin ju wen ko"),
    kinds=_l("der Fuchs, der Hase, die Eule, der Bär, die Maus, die Katze, der Hund, die Ente, der Frosch, "
             "der Igel, das Eichhörnchen, der Dachs, das Reh, der Wolf, die Ziege, das Lamm, das Pony, "
             "das Pferd, der Esel, das Schwein, die Kuh, das Huhn, die Gans, der Schwan, die Schildkröte, "
             "die Schnecke, der Käfer, der Marienkäfer, der Schmetterling, die Biene, die Ameise, die Spinne, "
             "die Grille, die Fledermaus, die Krähe, das Rotkehlchen, der Spatz, der Papagei, der Pinguin, "
             "die Robbe, der Otter, der Biber, der Waschbär, der Maulwurf, die Eidechse, die Krabbe, der Fisch, "
             "der Wal, der Delfin, der Tintenfisch, das Kätzchen, der Welpe, der Tiger, der Löwe, der Elefant, "
             "die Giraffe, das Zebra, der Affe, der Panda, das Känguru, das Kamel, der Elch, das Küken, "
             "der Drache, das Einhorn, das Glühwürmchen, der Specht, der Storch, der Hamster, die Kröte"),
    helpers=_l("der Bäcker, die Bäuerin, der Fischer, die Lehrerin, die Großmutter, der Großvater, der Seemann, "
               "die Malerin, die Ärztin, der Gärtner, die Händlerin, der Müller, der Schneider, die Schreinerin, "
               "der Briefträger, die Imkerin, der Schäfer, der Schmied, die Bibliothekarin, der Pilot, "
               "der Uhrmacher, die Töpferin, die Weberin, die Fee, der Riese, der Zauberer, die Königin, "
               "der König, die Prinzessin, der Ritter, die Försterin, der Koch, die Musikerin, der Holzfäller, "
               "der Leuchtturmwärter, die Eule, die Schildkröte"),
    things=_l("der Drachen, der Ball, das Buch, der Hut, der Schal, die Laterne, der Schlüssel, die Karte, "
              "die Muschel, der Stein, die Feder, das Band, der Ballon, die Trommel, die Flöte, die Glocke, "
              "das Boot, der Korb, die Decke, der Knopf, die Kerze, die Uhr, die Münze, die Krone, die Tasse, "
              "die Puppe, das Ei, der Fächer, die Fahne, der Handschuh, die Harfe, das Horn, das Glas, "
              "der Kessel, die Leiter, die Lampe, die Murmel, der Spiegel, die Kette, das Netz, der Pinsel, "
              "die Perle, der Kiesel, der Bleistift, das Kissen, das Windrad, das Puzzle, der Ring, das Seil, "
              "das Segel, der Schlitten, der Löffel, der Stern, die Statue, das Schwert, die Teekanne, "
              "das Fernrohr, das Zelt, die Fahrkarte, das Spielzeug, der Zug, die Trompete, der Regenschirm, "
              "die Vase, die Geige, der Wagen, die Pfeife, der Kompass, der Buntstift, das Tagebuch, der Brief, "
              "die Taschenlampe, der Globus, die Hängematte, der Helm, das Medaillon, der Magnet, die Spieldose, "
              "das Heft, das Papierschiff, das Paket, der Tannenzapfen, die Postkarte, die Rakete, "
              "die Schneekugel, das Märchenbuch, der Schatz, die Schatzkiste, der Eimer, die Schaufel, "
              "der Kreisel, die Mundharmonika, das Fahrrad, der Rucksack, die Flasche, das Bild, das Geschenk"),
    places=_l("der Wald, die Wiese@auf, der Fluss@an, der See@an, der Hügel@auf, der Berg@auf, das Tal, "
              "das Dorf, die Stadt, der Markt@auf, der Garten, der Obstgarten, der Bauernhof@auf, die Scheune, "
              "der Strand@an, der Hafen, die Insel@auf, die Höhle, die Brücke@auf, die Burg, der Turm, "
              "die Bibliothek, die Schule, der Park, der Teich@an, das Feld@auf, die Wüste, der Dschungel, "
              "der Sumpf, die Lichtung@auf, der Wasserfall@an, der Leuchtturm@an, die Bäckerei, die Küche, "
              "der Dachboden@auf, der Keller, der Bahnhof@an, der Zoo, das Museum, der Spielplatz@auf, "
              "der Jahrmarkt@auf, der Zirkus, das Maisfeld@auf, der Weinberg@auf, die Schlucht, "
              "der Gletscher@auf, die Klippe@auf, das Ufer@an, das Moor, der Hain, die Heide"),
    homes=_l("der Bau, das Häuschen, das Nest, die Höhle, die Hütte, das Baumhaus, das Haus, die Blockhütte, "
             "der Stall, die Windmühle, das Zelt, das Hausboot, der Leuchtturm, das Iglu, der Wohnwagen"),
    flaw=_l("tollpatschig mürrisch faul unordentlich nervös albern schläfrig stur ängstlich zappelig laut frech "
            "vergesslich ungeduldig rechthaberisch schüchtern"),
    trait=_l("mutig neugierig schüchtern klug sanft freundlich fröhlich verspielt vorsichtig still laut "
             "lebhaft tollpatschig geduldig frech verträumt lustig großzügig mürrisch hilfsbereit ehrlich "
             "hungrig faul fleißig höflich stolz albern schläfrig schlau weise jung kühn ruhig eifrig furchtlos "
             "munter gesprächig flink gemütlich zerstreut"),
    adj=_l("glänzend alt winzig groß klein rund weich warm hell golden silbern magisch geheim verborgen schön "
           "seltsam wunderbar glitzernd glatt rau schwer leicht lang kurz breit schmal tief flach flauschig "
           "leuchtend staubig rostig hölzern zart riesig kostbar selten zerbrechlich süß uralt neu berühmt "
           "bunt gestreift gepunktet eckig spitz lockig fein prächtig hübsch zauberhaft sauber "
           "geheimnisvoll wertvoll sonderbar herrlich funkelnd"),
    col=_l("rot blau grün gelb braun schwarz weiß grau golden silbern violett türkis"),
    feel_good=_l("glücklich froh stolz fröhlich begeistert dankbar ruhig zufrieden erleichtert vergnügt "
                 "selig munter heiter gerührt"),
    feel_bad=_l("traurig besorgt ängstlich einsam müde verärgert nervös hungrig verwirrt wütend unglücklich "
                "enttäuscht bedrückt mutlos verzweifelt erschöpft"),
    act=_l("Verstecken zu spielen, Lieder zu singen, im Regen zu tanzen, Sandburgen zu bauen, Muscheln zu sammeln, "
           "auf Bäume zu klettern, Bilder zu malen, Geschichten zu lesen, Kekse zu backen, die Sterne zu zählen, "
           "den Wolken zuzusehen, Schmetterlingen nachzulaufen, in Pfützen zu springen, Blumen zu pflücken, "
           "Drachen steigen zu lassen, Fahrrad zu fahren, auf der Trommel zu spielen, Witze zu erzählen, "
           "Papierschiffchen zu falten, Samen zu pflanzen, Hügel hinunterzurollen, im See zu schwimmen, "
           "nach Schätzen zu suchen, Karten zu zeichnen, Flöte zu spielen, die Enten zu füttern, "
           "Freunde zu besuchen, in der Sonne zu dösen, neue Wörter zu lernen, Seifenblasen zu machen, "
           "den Vögeln zuzuhören, den Wald zu erkunden, Steine zu stapeln, Schlaflieder zu summen"),
    food=_l("Honig, Beeren, Äpfel, Karotten, Brot, Käse, Suppe, Kekse, Kuchen, Haferbrei, Birnen, Pflaumen, "
            "Nüsse, Eicheln, Pfannkuchen, Marmelade, Milch, Tee, Limonade, Trauben, Kirschen, Pfirsiche, Mais, "
            "Erbsen, Bohnen, Reis, Nudeln, Muffins, Orangen, Bananen, Melone, Erdbeeren, Heidelbeeren, "
            "Himbeeren, Butterbrote, Eier, Pilze, Kartoffeln, Kürbissuppe, Apfelkuchen, Zimtschnecken, Knödel, "
            "Joghurt, Feigen, Datteln, Walnüsse, Haselnüsse, Kastanien, Salat, Gurken, Tomaten, Brezeln"),
    sights=_l("Blumen Gänseblümchen Tulpen Rosen Mohnblumen Pilze Farne Kieselsteine Muscheln Blätter "
              "Tannenzapfen Bäume Eichen Birken Weiden Büsche Schilf Wolken Schmetterlinge Bienen Vögel Libellen "
              "Glühwürmchen Pfützen Hügel Felsen Bäche Wellen Sterne Häuser Zäune Windmühlen Schafe Kühe "
              "Sonnenblumen Löwenzahn Beeren Eicheln Federn Baumstämme"),
    smell=_l("Tannen, Regen, Rosen, frischem Brot, Honig, nassem Gras, Salz, Minze, Rauch, Äpfeln, Lavendel, "
             "Seife, Zimt, Moos, dem Meer, warmem Heu, Flieder"),
    sound=_l("ein leises Summen, einen lauten Platsch, ein feines Piepsen, ein fröhliches Pfeifen, "
             "ein tiefes Grollen, ein sanftes Brummen, ein leises Kichern, ein lautes Knacken, "
             "eine ferne Glocke, ein komisches Tröten, ein müdes Gähnen, ein süßes Lied, ein tiefes Brüllen, "
             "ein schnelles Klopfen, eine ferne Trommel, eine knarrende Tür, ein Rascheln im Laub"),
    weather=_l("Die Sonne schien warm und hell., Ein kühler Wind wehte durch die Bäume., "
               "Leiser Regen begann zu fallen., Der Himmel war blau und klar., Flauschige Wolken zogen vorbei., "
               "In jedem Busch sangen Vögel., Schneeflocken tanzten in der Luft., "
               "Ein großer runder Mond ging über den Hügeln auf., Nebel lag über dem Wasser., "
               "Nach dem Regen erschien ein Regenbogen., Das Laub raschelte unter ihren Füßen."),
    time=_l("Eines Morgens, An einem sonnigen Morgen, An einem regnerischen Nachmittag, An einem Frühlingstag, "
            "An einem kalten Winterabend, In einer Sommernacht, An einem Herbstnachmittag, "
            "Am ersten Frühlingstag, An einem nebligen Morgen, An einem windigen Tag, An einem Sonntag"),
    move_pl=_l("liefen gingen hüpften wanderten rannten spazierten marschierten eilten trabten stapften"),
    say=_l("sagte flüsterte rief seufzte lachte kicherte murmelte"),
    rel=_l("Mama Papa Oma Opa"),
    lesson=_l("Freunde jeden Weg kürzer machen, man ruhig um Hilfe bitten darf, "
              "man auch mit Angst mutig sein kann, geteilte Freude doppelte Freude ist, "
              "kleine Schritte weit führen, Freundlichkeit immer zurückkommt, Geduld eine Art Zauber ist, "
              "es für jedes Problem einen Ausweg gibt, Zuhören genauso wichtig ist wie Reden"),
    beats=dict(
        intro=["Es war einmal [K:ein|eine|ein] {trait:K} {K.bare} namens {A}.",
               "{time} wachte {A} früh in [A:sein|ihr][Q:em|er|em] {Q.bare} auf.",
               "{W.loc} lebte [K:ein|eine|ein] {K.bare} namens {A}.",
               "{A} war [K:ein|eine|ein] {trait:K} {K.bare} und wohnte {W.loc}.",
               "Vor langer Zeit lebte {W.loc} [K:ein|eine|ein] {trait:K} {K.bare}. [K:Sein|Ihr|Sein] Name war {A}."],
        desc=["[A:Er|Sie] liebte es, {act}.",
              "{A} war {trait}, aber manchmal auch ein bisschen {flaw}.",
              "Am liebsten aß {A} {food}, jeden (Morgen|Abend|Sonntag).",
              "Alle {W.loc} kannten {A}, weil [A:er|sie] so (laut|gern|schön) (lachte|sang|erzählte).",
              "Wenn es regnete, blieb {A} zu Hause, um "
              "(Bilder zu malen|Geschichten zu lesen|Kekse zu backen|Knöpfe zu sortieren).",
              "(Mama|Papa|Oma|Opa) sagte oft: „{A}, du bist [K:ein|eine|ein] {trait:K} {K.bare}!“"],
        home=["[A:Sein|Ihr][Q:|e|] {Q.bare} war {adj} und gemütlich, und vor dem Fenster sah man {sights}.",
              "Nachts schlief {A} in [A:sein|ihr][Q:em|er|em] {Q.bare} unter einer {col+en} Decke."],
        want=["{time} wollte {A} {T.aacc} finden.",
              "Mehr als alles andere wünschte sich {A} {T.aacc}.",
              "{time} hörte {A} von {T.adat}, [T:der|die|das] {P.loc} versteckt war.",
              "{A} träumte von {T.adat}, [T:der|die|das] ganz {adj} und {col} war.",
              "{time} sagte {A}: „Heute finde ich {T.aacc}!“"],
        reason=["[A:Er|Sie] wollte [T:ihn|sie|es] (Mama|Papa|Oma|Opa) schenken.",
                "Noch nie hatte jemand {W.loc} so etwas gesehen.",
                "Das würde (Mama|Papa|Oma|Opa) sehr (glücklich|froh|stolz) machen."],
        friend=["[A:Sein|Ihr][B: bester Freund|e beste Freundin] war {F.a} namens {B}.",
                "Unterwegs traf [A:er|sie] {B}. {B} war {F.a} und wohnte gleich nebenan.",
                "{A} klopfte bei {B} an, [F:einem|einer|einem] {trait+en} {F.bare} aus der Nachbarschaft."],
        say_want=["„{B}, ich möchte {T.aacc} finden!“, {say} {A}. „Kommst du mit?“",
                  "„Lass uns {P.dir} gehen!“, rief {A}. „Dort gibt es {T.aacc}.“",
                  "„Kannst du mir helfen?“, fragte {A}. „Ich suche {T.aacc}.“",
                  "„Rate mal, {B}!“, {say} {A}. „{^P.loc} gibt es {T.aacc}, und ich will [T:ihn|sie|es] finden.“"],
        reply=["„Na klar!“, {say} {B}. „Ich liebe Abenteuer.“",
               "{B} (lächelte|nickte|lachte). „Ja, lass uns zusammen gehen“, {say} [B:er|sie].",
               "„Ich bin ein bisschen {feel_bad}, aber ich komme mit“, {say} {B}."],
        travel=["Also {move_pl} {A} und {B} {P.dir}.",
                "Sie {move_pl} an {W.dat} vorbei, über eine (alte|schmale|hölzerne|wackelige|steinerne) "
                "Brücke und durch ein Feld voller {sights}.",
                "Die beiden Freunde wanderten lange. {weather}",
                "Zuerst kamen sie zu {places.adat}, wo es überall {sights} gab.",
                "Der Weg zu {P.dat} war lang und (kurvig|schmal|steil|schattig|matschig|holprig|steinig)."],
        sight=["Überall waren {sights} und {sights}.",
               "{weather}",
               "Die Luft roch nach {smell}.",
               "Irgendwo hörten sie {sound}.",
               "Am Wegrand (schlief|sang|tanzte|gähnte) {kinds.a}."],
        event=["Sie machten eine Pause und aßen {food} und {food}.",
               "{kinds.a} fragte sie: „Wohin geht ihr?“ „Wir gehen {P.dir}“, antwortete {A}.",
               "Am Wegrand fand {A} {things.aacc}.",
               "{B} erzählte eine lustige Geschichte, und {A} lachte laut.",
               "Sie sangen ein Lied über {sights} und {food}."],
        feel_bad=["{A} war {feel_bad} und {feel_bad}.",
                  "{A} setzte sich auf einen Stein und fing an zu weinen.",
                  "[A:Sein|Ihr] Herz war schwer, und auch {B} sah {feel_bad} aus."],
        say_worry=["„Was sollen wir jetzt tun?“, (fragte|seufzte|flüsterte) {A}.",
                   "„Wir werden {T.acc} nie bekommen“, (sagte|seufzte|flüsterte) {A} leise.",
                   "„Gib nicht auf“, {say} {B}. „Es gibt immer einen Weg.“"],
        helper=["Genau in diesem Moment kam {H.a} vorbei.",
                "Da hörten sie eine Stimme. Es war {H.a}, [H:der|die|das] alles gesehen hatte.",
                "Zum Glück wohnte {H.a} ganz in der Nähe."],
        say_help=["„Keine Sorge“, sagte {H}. „Ich kann euch helfen.“",
                  "„Was ist denn los, ihr Kleinen?“, fragte {H}. {A} erzählte die ganze Geschichte.",
                  "„Bitte hilf uns“, sagte {A} zu {H.dat}. „Wir brauchen {T.acc}.“"],
        get=["Endlich hielt {A} {T.acc} in den Händen.",
             "{A} hob {T.acc} auf. [T:Er|Sie|Es] war noch schöner, als [A:er|sie] gedacht hatte.",
             "„Wir haben es geschafft!“, riefen {A} und {B} zusammen."],
        ret=["Dann gingen {A} und {B} gemeinsam nach Hause, während die Sonne unterging.",
             "Sie bedankten sich bei {H.dat} und gingen zurück nach Hause.",
             "Auf dem Heimweg (lachten|redeten|sangen) sie über ihr Abenteuer."],
        feel_good=["{A} war {feel_good} und {feel_good}.",
                   "In dieser Nacht schlief {A} mit einem großen Lächeln ein."],
        moral=["{A} hatte gelernt, dass {lesson}.",
               "Und von diesem Tag an waren {A} und {B} die besten Freunde.",
               "Und wenn sie nicht gestorben sind, dann (spielen|lachen|tanzen) sie noch heute.",
               "Ende."]),
    problem=[("Aber [T:der|die|das] {T.bare} hing hoch oben in einem Baum fest.",
              "{H} kletterte hinauf und holte [T:ihn|sie|es] herunter."),
             ("Aber zwischen ihnen und {T.dat} lag ein breiter Fluss.",
              "{H} zeigte ihnen ein paar Steine, und sie hüpften vorsichtig hinüber."),
             ("Aber {T} war in einer alten Kiste eingeschlossen, und niemand hatte den Schlüssel.",
              "{H} fand einen kleinen Schlüssel unter einem Stein, und die Kiste sprang mit einem Klick auf."),
             ("Plötzlich zogen dunkle Wolken auf, und ein großer Sturm begann.",
              "{H} ließ sie im Haus warten, bis die Sonne wieder schien."),
             ("Aber es war so dunkel, dass sie nichts sehen konnten.",
              "{H} brachte eine Laterne, und bald sahen sie {T.acc} im Licht glänzen."),
             ("Dann stolperte {A} und verlor die Karte.",
              "{H} kannte den Weg und führte sie über einen geheimen Pfad."),
             ("Aber {T} war in ein tiefes Loch gefallen.",
              "{H} ließ ein Seil hinunter, und {A} zog {T.acc} nach oben."),
             ("Aber ein großer umgestürzter Baum versperrte den Weg.",
              "Zusammen mit {H.dat} schoben sie so lange, bis der Baum zur Seite rollte."),
             ("Aber {B} wurde müde und setzte sich hin. [B:Er|Sie] konnte nicht mehr weiterlaufen.",
              "{H} gab ihnen {food}, und bald fühlte sich {B} wieder stark."),
             ("Aber {T} war in drei Teile zerbrochen.",
              "{H} klebte [T:ihn|sie|es] mit Leim, Faden und viel Geduld wieder zusammen."),
             ("Aber dichter Nebel bedeckte alles, und sie verirrten sich.",
              "{H} sang laut, und sie folgten dem Lied aus dem Nebel hinaus.")],
)


# --------------------------------------------------------------------------------------------- Spanish
def _noun_spa(e, kind):
    art, w = e.split(' ', 1)
    g = ('el', 'la').index(art)
    return {'': e, 'a': f"{('un', 'una')[g]} {w}", 'bare': w, 'loc': f"en {e}", 'dir': f"a {e}", 'g': g}


def _agree_spa(w, g):
    if g != 1:
        return w
    for m, f in (('o', 'a'), ('or', 'ora'), ('ón', 'ona'), ('án', 'ana'), ('ín', 'ina')):
        if w.endswith(m):
            return w[:-len(m)] + f
    return w


_ES_CONTRACT = re.compile(r"\b([Aa]|[Dd]e) el\b")

SPA = dict(
    noun=_noun_spa, agree=_agree_spa, sep=' ',
    post=lambda t: _ES_CONTRACT.sub(lambda m: m.group(1)[0] + ('l' if len(m.group(1)) == 1 else 'el'), t),
    names_m=_l("Pablo Mateo Lucas Diego Hugo Martín Leo Daniel Álvaro Bruno Marcos Tomás Nico Javier Andrés "
               "Carlos Luis Manuel Jorge Sergio Rafa Iker Gael"),
    names_f=_l("Lucía Sofía Martina María Paula Julia Valeria Emma Daniela Alba Carla Sara Noa Elena Inés Clara "
               "Rocío Marta Irene Carmen Lola Nerea Vega"),
    syll=_l("la mi to ru ca be ni so pe lo ma fi chu ra ti ve di no"),
    kinds=_l("el zorro, el conejo, el búho, el oso, el ratón, la gata, el perro, el pato, la rana, el erizo, "
             "la ardilla, el tejón, el ciervo, el lobo, la cabra, el cordero, el poni, el caballo, el burro, "
             "el cerdo, la vaca, la gallina, el ganso, el cisne, la tortuga, el caracol, el escarabajo, "
             "la mariquita, la mariposa, la abeja, la hormiga, la araña, el grillo, la polilla, el murciélago, "
             "el cuervo, el petirrojo, el gorrión, el loro, el pingüino, la foca, la nutria, el castor, "
             "el mapache, el topo, la lagartija, el cangrejo, el pez, la ballena, el delfín, el pulpo, "
             "el gatito, el cachorro, el tigre, el león, el elefante, la jirafa, la cebra, el mono, el panda, "
             "el koala, el canguro, el camello, la llama, el alce, la liebre, el hámster, el pollito, "
             "el dragón, el unicornio, la luciérnaga, la cigüeña, el flamenco, el sapo, la salamandra, "
             "el puercoespín, la morsa, la medusa"),
    helpers=_l("el panadero, la granjera, el pescador, la maestra, la abuela, el abuelo, el marinero, la pintora, "
               "la doctora, el jardinero, la tendera, el molinero, el sastre, la carpintera, el cartero, "
               "la apicultora, el pastor, el herrero, la bibliotecaria, la bombera, el piloto, el relojero, "
               "la alfarera, la tejedora, la reina, el rey, la princesa, el príncipe, el caballero, "
               "la guardabosques, el cocinero, la música, el leñador, el farero, la lechuza, el mago, el gigante"),
    things=_l("la cometa, la pelota, el libro, el sombrero, la bufanda, el farol, la llave, el mapa, la concha, "
              "la piedra, la pluma, la cinta, el globo, el tambor, la flauta, la campana, el barco, la cesta, "
              "la manta, el botón, la vela, el reloj, la moneda, la corona, la taza, la muñeca, el huevo, "
              "el abanico, la bandera, el guante, el cuerno, el tarro, la tetera, la escalera, la lámpara, "
              "la canica, el espejo, el collar, la red, el pincel, la perla, el guijarro, el lápiz, la almohada, "
              "el molinillo, el rompecabezas, la colcha, el anillo, la cuerda, la semilla, el trineo, "
              "la cuchara, la estrella, la estatua, la espada, el telescopio, la tienda de campaña, el billete, "
              "el juguete, el tren, la trompeta, el paraguas, el jarrón, el violín, el carrito, el silbato, "
              "la brújula, el diario, la carta, la linterna, la hamaca, el casco, el medallón, el imán, "
              "la caja de música, el cuaderno, el barquito de papel, el paquete, la piña, la postal, el cohete, "
              "la bola de nieve, el cofre, el tesoro, el cubo, la pala, la peonza, la armónica, la bicicleta, "
              "la mochila, la botella, el cuadro, el regalo"),
    places=_l("el bosque, el prado, el río, el lago, la colina, la montaña, el valle, la aldea, el pueblo, "
              "el mercado, el jardín, el huerto, la granja, el granero, la playa, el puerto, la isla, la cueva, "
              "el puente, el castillo, la torre, la biblioteca, la escuela, el parque, el estanque, el campo, "
              "el desierto, la selva, el pantano, el claro, la cascada, el faro, la panadería, la cocina, "
              "el desván, el sótano, la estación, el zoológico, el museo, la feria, el circo, el maizal, "
              "el viñedo, el cañón, el volcán, el glaciar, el acantilado, la orilla, la arboleda, la pradera"),
    homes=_l("la madriguera, la casita, el nido, la guarida, la cabaña, la casa del árbol, la casa, el establo, "
             "el tronco hueco, el molino, la tienda, el faro, el castillo, el iglú, la caravana"),
    flaw=_l("torpe gruñón perezoso desordenado nervioso despistado dormilón terco miedoso quisquilloso ruidoso "
            "olvidadizo impaciente mandón tímido"),
    trait=_l("valiente curioso tímido listo amable alegre juguetón cuidadoso callado ruidoso animado torpe "
             "paciente descarado soñador simpático gracioso generoso gruñón feliz servicial honesto hambriento "
             "perezoso afortunado educado orgulloso despistado dormilón astuto dulce sabio joven atrevido "
             "inquieto tranquilo travieso charlatán risueño"),
    adj=_l("brillante viejo diminuto grande pequeño redondo suave cálido luminoso dorado plateado mágico "
           "secreto hermoso extraño maravilloso reluciente liso áspero pesado ligero largo alto "
           "ancho profundo esponjoso peludo resplandeciente polvoriento oxidado enorme precioso raro frágil "
           "dulce antiguo nuevo famoso especial colorido rayado moteado cuadrado puntiagudo rizado bonito "
           "curioso misterioso encantado elegante delicado valioso espléndido centelleante"),
    col=_l("rojo azul verde amarillo morado rosa marrón negro blanco gris dorado plateado violeta turquesa "
           "celeste"),
    feel_good=_l("feliz contento orgulloso alegre encantado emocionado agradecido tranquilo satisfecho "
                 "aliviado entusiasmado maravillado"),
    feel_bad=_l("triste preocupado asustado solo cansado disgustado nervioso hambriento confundido enfadado "
                "desanimado inquieto perdido tembloroso"),
    act=_l("jugar al escondite, cantar canciones, bailar bajo la lluvia, construir castillos de arena, "
           "coleccionar conchas, trepar a los árboles, pintar cuadros, leer cuentos, hornear galletas, "
           "contar las estrellas, mirar las nubes, perseguir mariposas, saltar en los charcos, recoger flores, "
           "volar cometas, montar en bicicleta, tocar el tambor, contar chistes, hacer barquitos de papel, "
           "plantar semillas, rodar por las colinas, nadar en el lago, buscar tesoros, dibujar mapas, "
           "tocar la flauta, silbar melodías, dar de comer a los patos, visitar a sus amigos, dormir al sol, "
           "aprender palabras nuevas, hacer pompas de jabón, escuchar a los pájaros, explorar el bosque, "
           "apilar piedras, tejer bufandas"),
    food=_l("miel, moras, manzanas, zanahorias, pan, queso, sopa, galletas, pastel, gachas, peras, ciruelas, "
            "nueces, bellotas, tortitas, mermelada, leche, té, limonada, uvas, cerezas, melocotones, maíz, "
            "guisantes, judías, arroz, fideos, tarta, magdalenas, naranjas, plátanos, melón, fresas, arándanos, "
            "frambuesas, tostadas, mantequilla, huevos, bizcochos, setas, patatas, sopa de calabaza, "
            "tarta de manzana, empanadas, yogur, higos, dátiles, avellanas, castañas, tomates, pepinos"),
    sights=_l("flores, margaritas, tulipanes, rosas, amapolas, setas, helechos, piedrecitas, hojas, piñas, "
              "árboles, robles, abedules, sauces, arbustos, juncos, nubes, mariposas, abejas, pájaros, libélulas, "
              "luciérnagas, charcos, colinas, rocas, arroyos, olas, estrellas, casitas, vallas, molinos, ovejas, "
              "vacas, girasoles, dientes de león, tréboles, plumas, troncos"),
    smell=_l("pino, lluvia, rosas, pan recién hecho, miel, hierba mojada, sal, menta, humo, manzanas, lavanda, "
             "canela, musgo, mar, heno, jazmín"),
    sound=_l("un zumbido suave, un chapoteo fuerte, un chillido diminuto, un silbido alegre, un ruido sordo, "
             "un murmullo, una risita, un crujido, una campana lejana, un graznido, un bostezo, "
             "una canción dulce, un rugido, un toc-toc, un tambor lejano, una puerta que chirriaba, "
             "un susurro entre las hojas"),
    weather=_l("El sol brillaba con fuerza., Soplaba un viento fresco entre los árboles., "
               "Empezó a caer una lluvia suave., El cielo estaba azul y despejado., "
               "Unas nubes esponjosas pasaban despacio., Los pájaros cantaban en cada arbusto., "
               "Los copos de nieve bailaban en el aire., Una luna grande y redonda salió sobre las colinas., "
               "La niebla flotaba sobre el agua., Después de la lluvia apareció un arcoíris., "
               "Las hojas secas crujían bajo sus pies."),
    time=_l("Una mañana, Una mañana soleada, Una tarde lluviosa, Un día de primavera, Una noche de invierno, "
            "Una noche de verano, Una tarde de otoño, El primer día de primavera, Una mañana de niebla, "
            "Un día de mucho viento, Un domingo, Un lunes por la mañana"),
    move_pl=_l("caminaron corrieron saltaron marcharon pasearon trotaron avanzaron galoparon"),
    say=_l("dijo susurró gritó llamó exclamó suspiró murmuró"),
    rel=_l("madre padre abuela abuelo hermanita hermanito tía tío prima primo vecina vecino"),
    lesson=_l("los amigos hacen más corto cualquier camino, pedir ayuda no es ninguna vergüenza, "
              "ser valiente es intentarlo aunque tengas miedo, la alegría compartida es doble alegría, "
              "los pasos pequeños llevan muy lejos, la bondad siempre vuelve, la paciencia es una especie de magia, "
              "todo problema tiene una salida, escuchar es tan importante como hablar"),
    beats=dict(
        intro=["Había una vez [K:un|una] {K.bare} {trait:K} llamad[K:o|a] {A}.",
               "{time}, {A}, [K:un|una] {K.bare} muy {trait:K}, se despertó temprano en {Q}.",
               "{W.loc} vivía [K:un|una] {K.bare} que se llamaba {A}.",
               "{A} era [K:un|una] {K.bare} {trait:K} que vivía {W.loc}.",
               "Hace mucho tiempo, {W.loc}, vivía [K:un|una] {K.bare} {trait:K}. Su nombre era {A}."],
        desc=["A {A} le encantaba {act}.",
              "Cada día, {A} salía a {act} con su {rel}.",
              "{A} era {trait:A}, pero a veces también era un poco {flaw:A}.",
              "A {A} le gustaba mucho comer {food}, sobre todo (por la mañana|por la noche|los domingos).",
              "Todos {W.loc} conocían a {A}, porque (reía|cantaba|hablaba) muy (fuerte|bonito|alegremente).",
              "Cuando llovía, {A} se quedaba en casa para "
              "(pintar cuadros|leer cuentos|hornear galletas|hacer puzles).",
              "Su {rel} siempre le decía: «{A}, eres [K:el|la] {K.bare} más {trait:K} del mundo.»"],
        home=["Su {Q.bare} era pequeñ[Q:o|a] y acogedor[Q:|a], y desde la ventana se veían {sights}.",
              "Por la noche, {A} dormía en {Q} bajo una manta {col:f}."],
        want=["{time}, {A} quiso encontrar {T.a} {adj:T}.",
              "Más que nada en el mundo, {A} deseaba {T.a} {col:T}.",
              "{time}, {A} oyó hablar de {T.a} {adj:T} escondid[T:o|a] {P.loc}.",
              "{A} soñaba con {T.a} {adj:T} y {col:T}.",
              "{time}, {A} dijo: «¡Hoy voy a encontrar {T.a}!»"],
        reason=["Quería regalárse[T:lo|la] a su {rel}.",
                "Nadie {W.loc} había visto nunca algo así.",
                "Con [T:ese|esa] {T.bare} podría {act} todo el día."],
        friend=["Su mejor amig[B:o|a] era [F:un|una] {F.bare} {trait:F} llamad[F:o|a] {B}.",
                "Por el camino se encontró con {B}, [F:un|una] {F.bare} que vivía cerca.",
                "{A} fue a buscar a su amig[B:o|a] {B}, [F:un|una] {F.bare} muy {trait:F}."],
        say_want=["«{B}, ¡quiero encontrar {T.a}!», {say} {A}. «¿Vienes conmigo?»",
                  "«¡Vamos {P.dir}!», {say} {A}. «Dicen que allí hay {T.a} {adj:T}.»",
                  "«¿Me ayudas?», preguntó {A} a {B}. «Estoy buscando {T.a}.»",
                  "«¿Sabes qué, {B}?», {say} {A}. «{^P.loc} hay {T.a}, y quiero encontrar[T:lo|la].»"],
        reply=["«¡Claro que sí!», {say} {B}. «Me encantan las aventuras.»",
               "{B} (sonrió|asintió|se rio). «Sí, vamos juntos», {say}.",
               "«Estoy un poco {feel_bad:B}, pero iré contigo», {say} {B}."],
        travel=["Así que {A} y {B} {move_pl} {P.dir}.",
                "Pasaron junto {W.dir}, cruzaron un puente (viejo|estrecho|de madera|de piedra|colgante) "
                "y atravesaron un campo lleno de {sights}.",
                "Los dos amigos caminaron durante mucho tiempo. {weather}",
                "Primero llegaron a {places.a}, donde había {sights} por todas partes.",
                "El camino hacia {P} era largo y (sinuoso|estrecho|empinado|sombreado|embarrado|pedregoso)."],
        sight=["Por todas partes había {sights} y {sights}.",
               "{weather}",
               "El aire olía a {smell}.",
               "A lo lejos oyeron {sound}.",
               "Junto al camino (dormía|cantaba|bailaba|bostezaba) {kinds.a}."],
        event=["Se sentaron a descansar y comieron {food} y {food}.",
               "{kinds.a} les preguntó: «¿Adónde vais?» «Vamos {P.dir}», respondió {A}.",
               "{A} encontró {things.a} junto al camino y se lo guardó en el bolsillo.",
               "{B} contó un chiste muy gracioso, y {A} se rio a carcajadas.",
               "Cantaron una canción sobre {sights} y {food}."],
        feel_bad=["{A} se sentía {feel_bad:A} y {feel_bad:A}.",
                  "{A} se sentó en una piedra y empezó a llorar.",
                  "Tenía el corazón pesado, y {B} también parecía {feel_bad:B}."],
        say_worry=["«¿Qué vamos a hacer ahora?», (preguntó|suspiró|susurró) {A}.",
                   "«Nunca conseguiremos {T}», (dijo|suspiró|susurró) {A} en voz baja.",
                   "«No te rindas», {say} {B}. «Siempre hay una manera.»"],
        helper=["Justo entonces pasó por allí {H.a}.",
                "Entonces oyeron una voz. Era {H.a} que lo había visto todo.",
                "Por suerte, {H.a} vivía muy cerca."],
        say_help=["«No os preocupéis», dijo {H}. «Yo os puedo ayudar.»",
                  "«¿Qué os pasa, pequeños?», preguntó {H}. {A} le contó toda la historia.",
                  "«Por favor, ayúdanos», le dijo {A} a {H}. «Necesitamos {T}.»"],
        get=["Por fin, {A} tenía {T} entre sus manos.",
             "{A} recogió {T}. Era aún más (bonit|hermos|maravillos)[T:o|a] de lo que había imaginado.",
             "«¡Lo hemos conseguido!», gritaron {A} y {B} a la vez."],
        ret=["Luego, {A} y {B} volvieron juntos a casa mientras se ponía el sol.",
             "Dieron las gracias a {H} y regresaron a casa.",
             "De camino a casa, (hablaron|charlaron) de su aventura y (cantaron|rieron) mucho."],
        feel_good=["{A} se sentía {feel_good:A} y {feel_good:A}.",
                   "Aquella noche, {A} se durmió con una gran sonrisa."],
        moral=["{A} aprendió que {lesson}.",
               "Y desde aquel día, {A} y {B} fueron los mejores amigos.",
               "Y colorín colorado, este cuento se ha acabado.",
               "Fin."]),
    problem=[("Pero {T} estaba atascad[T:o|a] en lo alto de un árbol.",
              "{H} trepó por el tronco y [T:lo|la] bajó con cuidado."),
             ("Pero entre ellos y {T} había un río muy ancho.",
              "{H} les enseñó unas piedras, y cruzaron saltando de una en una."),
             ("Pero {T} estaba encerrad[T:o|a] en un cofre viejo, y nadie tenía la llave.",
              "{H} encontró una llave diminuta debajo de una piedra, y el cofre se abrió con un clic."),
             ("De repente llegaron nubes negras y empezó una gran tormenta.",
              "{H} les dejó esperar en su casa hasta que volvió a salir el sol."),
             ("Pero estaba tan oscuro que no podían ver nada.",
              "{H} trajo un farol, y pronto vieron {T} brillando cerca de ellos."),
             ("Entonces {A} tropezó y perdió el mapa.",
              "{H} conocía el camino y los guio por un sendero secreto."),
             ("Pero {T} se había caído en un agujero muy profundo.",
              "{H} bajó una cuerda, y {A} sacó {T} del agujero."),
             ("Pero un árbol enorme había caído y bloqueaba el camino.",
              "Junto con {H}, empujaron y empujaron hasta que el árbol rodó a un lado."),
             ("Pero {B} se cansó y se sentó en el suelo. No podía caminar más.",
              "{H} les dio {food}, y pronto {B} se sintió fuerte otra vez."),
             ("Pero {T} estaba rot[T:o|a] en tres pedazos.",
              "{H} [T:lo|la] arregló con pegamento, hilo y mucha paciencia."),
             ("Pero una niebla espesa lo cubría todo, y se perdieron.",
              "{H} cantó muy fuerte, y ellos siguieron la canción hasta salir de la niebla.")],
)




# ---------------------------------------------------------------------------------------------- French
def _noun_fra(e, kind):
    e, _, prep = e.partition('@')
    e, _, g = e.partition(':')
    art, w = ("l'", e[2:]) if e.startswith("l'") else e.split(' ', 1)
    g = 'mf'.index(g) if g else ('le', 'la').index(art)
    poss = ('sa ' if g == 1 and art != "l'" else 'son ') + w  # son écharpe, sa poupée
    return {'': e, 'a': ('un ', 'une ')[g] + w, 'bare': w, 'poss': poss, 'loc': f"{prep or 'dans'} {e}",
            'dir': f"vers {e}", 'g': g}


def _fr_fem(w):
    if ' ' in w or w.endswith('e'):  # "en bois", "rouge": the same in the feminine
        return w
    for m, f in (('eux', 'euse'), ('if', 'ive'), ('er', 'ère'), ('on', 'onne'), ('en', 'enne'), ('el', 'elle'),
                 ('et', 'ète')):
        if w.endswith(m):
            return w[:-len(m)] + f
    return w + 'e'


_FR_CONTRACT = re.compile(r"\b(à|À|de|De) (les?)\b")
_FR_SHORT = {('à', 'le'): 'au', ('à', 'les'): 'aux', ('de', 'le'): 'du', ('de', 'les'): 'des'}


def _fr_contract(m):
    short = _FR_SHORT[(m.group(1).lower(), m.group(2))]
    return short.capitalize() if m.group(1)[0].isupper() else short


FRA = dict(
    noun=_noun_fra, sep=' ', agree=lambda w, g: _fr_fem(w) if g == 1 else w,
    post=lambda t: _FR_CONTRACT.sub(_fr_contract, t),
    names_m=_l("Lucas Hugo Louis Jules Léo Gabriel Arthur Raphaël Adam Paul Nathan Tom Théo Victor Noé Émile "
               "Marius Gaspard Basile Félix"),
    names_f=_l("Emma Jade Louise Alice Chloé Léa Manon Inès Lina Camille Zoé Rose Anna Juliette Margaux Élise "
               "Agathe Lou Capucine Margot"),
    syll=_l("mi la bo ren tu pi ka lo fé ri do nel sa vi po ta bel mo lin ju"),
    kinds=_l("le renard, le lapin, la chouette, l'ours:m, la souris, le chat, le chien, le canard, la grenouille, "
             "le hérisson, l'écureuil:m, le blaireau, le cerf, le loup, la chèvre, l'agneau:m, le poney, "
             "le cheval, l'âne:m, le cochon, la vache, la poule, l'oie:f, le cygne, la tortue, l'escargot:m, "
             "le scarabée, la coccinelle, le papillon, l'abeille:f, la fourmi, l'araignée:f, le grillon, "
             "la chauve-souris, le corbeau, le rouge-gorge, le moineau, le perroquet, le pingouin, le phoque, "
             "la loutre, le castor, le raton laveur, la taupe, le lézard, le crabe, le poisson, la baleine, "
             "le dauphin, la pieuvre, le chaton, le chiot, le tigre, le lion, l'éléphant:m, la girafe, le zèbre, "
             "le singe, le panda, le koala, le kangourou, le chameau, le lama, l'élan:m, le lièvre, le hamster, "
             "le poussin, le dragon, la licorne, la luciole, le pic-vert, la cigogne, le flamant, le crapaud, "
             "la salamandre, le morse, l'hippocampe:m, la méduse, la marmotte"),
    helpers=_l("le boulanger, la fermière, le pêcheur, la maîtresse, la grand-mère, le grand-père, le marin, "
               "la peintre, le médecin, le jardinier, la marchande, le meunier, le tailleur, la menuisière, "
               "le facteur, l'apicultrice:f, le berger, le forgeron, la bibliothécaire, la pompière, le pilote, "
               "l'horloger:m, la potière, la tisserande, la fée, le géant, le magicien, la reine, le roi, "
               "la princesse, le prince, le chevalier, la garde forestière, le cuisinier, la musicienne, "
               "le bûcheron, le gardien de phare, la vieille chouette, la sage tortue"),
    things=_l("le cerf-volant, le ballon, le livre, le chapeau, l'écharpe:f, la lanterne, la clé, la carte, "
              "le coquillage, la pierre, la plume, le ruban, le tambour, la flûte, la cloche, le bateau, le panier, "
              "la couverture, le bouton, la bougie, l'horloge:f, la pièce d'or, la couronne, la tasse, la poupée, "
              "l'œuf:m, l'éventail:m, le drapeau, le gant, la harpe, le cor, le bocal, la bouilloire, l'échelle:f, "
              "la lampe, la bille, le miroir, le collier, le filet, le pinceau, la perle, le galet, le crayon, "
              "l'oreiller:m, le moulinet, le puzzle, la bague, la corde, la voile, la graine, la luge, "
              "la cuillère, l'étoile:f, la statue, l'épée:f, la théière, la longue-vue, la tente, le billet, "
              "le jouet, le train, la trompette, le parapluie, le vase, le violon, le chariot, le sifflet, "
              "la boussole, le carnet, la lettre, la lampe de poche, le globe, le hamac, le casque, le médaillon, "
              "l'aimant:m, la boîte à musique, le cahier, le bateau en papier, le colis, la pomme de pin, "
              "la carte postale, la fusée, la boule à neige, le coffre, le trésor, le seau, la pelle, la toupie, "
              "l'harmonica:m, le vélo, le sac à dos, la bouteille, le tableau, le cadeau"),
    places=_l("la forêt, la prairie, la rivière@au bord de, le lac@au bord de, la colline@sur, la montagne@sur, "
              "la vallée, le village, la ville, le marché@sur, le jardin, le verger, la ferme, la grange, "
              "la plage@sur, le port, l'île:f@sur, la grotte, le pont@sur, le château, la tour, la bibliothèque, "
              "l'école:f, le parc, l'étang:m@au bord de, le champ, le désert, la jungle, le marais, la clairière, "
              "la cascade@près de, le phare@près de, la boulangerie, la cuisine, le grenier, la cave, la gare, "
              "le zoo, le musée, la fête foraine, le cirque, le champ de maïs, la vigne, le canyon, "
              "le volcan@près de, le glacier@sur, la falaise@sur, le rivage@sur, le bosquet, la lande"),
    homes=_l("le terrier, la maisonnette, le nid, la tanière, la cabane, la cabane dans l'arbre, la maison, "
             "la chaumière, l'étable:f, le moulin, la tente, le phare, la roulotte, l'igloo:m, le tronc creux"),
    flaw=_l("maladroit grognon paresseux désordonné nerveux étourdi endormi têtu peureux bruyant distrait "
            "impatient autoritaire timide gourmand"),
    trait=_l("courageux curieux timide malin/maligne gentil/gentille joyeux joueur/joueuse prudent calme bruyant "
             "vif maladroit patient espiègle rêveur/rêveuse drôle généreux grognon serviable honnête gourmand "
             "paresseux poli fier endormi rusé têtu doux/douce sage jeune hardi tranquille bavard étourdi "
             "sérieux aimable"),
    adj=_l("brillant, ancien, minuscule, énorme, rond, doux/douce, chaud, doré, argenté, magique, secret, "
           "merveilleux, étrange, splendide, lisse, lourd, léger, long/longue, profond, duveteux, poussiéreux, "
           "rouillé, précieux, rare, fragile, célèbre, spécial, coloré, rayé, tacheté, carré, pointu, bouclé, "
           "mystérieux, enchanté, élégant, délicat, scintillant, lumineux, étincelant, superbe, "
           "magnifique"),
    col=_l("rouge bleu vert jaune orange violet/violette rose marron noir blanc/blanche gris doré argenté "
           "turquoise"),
    feel_good=_l("heureux content fier joyeux ravi enchanté reconnaissant calme soulagé satisfait émerveillé ému"),
    feel_bad=_l("triste inquiet effrayé seul fatigué fâché nerveux affamé perdu découragé malheureux déçu "
                "tremblant"),
    act=_l("jouer à cache-cache, chanter des chansons, danser sous la pluie, construire des châteaux de sable, "
           "ramasser des coquillages, grimper aux arbres, peindre des tableaux, lire des histoires, "
           "faire des biscuits, compter les étoiles, regarder les nuages, courir après les papillons, "
           "sauter dans les flaques, cueillir des fleurs, faire voler des cerfs-volants, faire du vélo, "
           "jouer du tambour, raconter des blagues, plier des bateaux en papier, planter des graines, "
           "nager dans le lac, chercher des trésors, dessiner des cartes, jouer de la flûte, nourrir les canards, "
           "rendre visite à ses amis, dormir au soleil, apprendre de nouveaux mots, faire des bulles de savon, "
           "écouter les oiseaux, explorer la forêt, empiler des cailloux, tricoter des écharpes"),
    food=_l("du miel, des mûres, des pommes, des carottes, du pain, du fromage, de la soupe, des biscuits, "
            "du gâteau, de la bouillie, des poires, des prunes, des noix, des glands, des crêpes, de la confiture, "
            "du lait, du thé, de la limonade, du raisin, des cerises, des pêches, du maïs, des petits pois, "
            "des haricots, du riz, des nouilles, de la tarte, des madeleines, des oranges, des bananes, du melon, "
            "des fraises, des myrtilles, des framboises, des tartines, du beurre, des œufs, des champignons, "
            "des pommes de terre, de la soupe au potiron, de la tarte aux pommes, des brioches, du yaourt, "
            "des figues, des dattes, des noisettes, des châtaignes, de la salade, des tomates, des concombres"),
    sights=_l("fleurs, marguerites, tulipes, roses, coquelicots, champignons, fougères, cailloux, coquillages, "
              "feuilles, pommes de pin, arbres, chênes, bouleaux, saules, buissons, roseaux, nuages, papillons, "
              "abeilles, oiseaux, libellules, lucioles, flaques, collines, rochers, ruisseaux, vagues, étoiles, "
              "maisons, clôtures, moulins, moutons, vaches, tournesols, pissenlits, trèfles, plumes, troncs"),
    smell=_l("le pin, la pluie, les roses, le pain frais, le miel, l'herbe mouillée, le sel, la menthe, la fumée, "
             "les pommes, la lavande, la cannelle, la mousse, la mer, le foin, le lilas"),
    sound=_l("un doux bourdonnement, un grand plouf, un petit couinement, un sifflement joyeux, un grondement sourd, "
             "un petit rire, un craquement, une cloche lointaine, un drôle de cri, un long bâillement, "
             "une douce chanson, un rugissement, un toc-toc rapide, un tambour lointain, "
             "une porte qui grinçait, un bruissement dans les feuilles"),
    weather=_l("Le soleil brillait et il faisait doux., Un vent frais soufflait dans les arbres., "
               "Une pluie fine se mit à tomber., Le ciel était bleu et clair., "
               "De gros nuages blancs passaient lentement., Les oiseaux chantaient dans chaque buisson., "
               "Des flocons de neige dansaient dans l'air., Une grande lune ronde se leva au-dessus des collines., "
               "La brume flottait sur l'eau., Un arc-en-ciel apparut après la pluie., "
               "Les feuilles craquaient sous leurs pas."),
    time=_l("Un matin, Un beau matin, Un après-midi pluvieux, Un jour de printemps, Un soir d'hiver, "
            "Une nuit d'été, Un après-midi d'automne, Le premier jour du printemps, Un matin de brouillard, "
            "Un jour de grand vent, Un dimanche"),
    pretty=_l("beau/belle joli/jolie merveilleux/merveilleuse splendide magnifique"),
    move_pl=_l("marchèrent, coururent, sautillèrent, partirent, se promenèrent, trottèrent, se hâtèrent, "
               "avancèrent"),
    say=_l("dit chuchota cria appela s'exclama soupira murmura"),
    rel=_l("sa maman, son papa, sa mamie, son papi, sa petite sœur, son petit frère, sa tante, son oncle, "
           "sa cousine, son cousin"),
    lesson=_l("les amis rendent chaque chemin plus court; demander de l'aide n'est pas une honte; "
              "le courage, c'est essayer même quand on a peur; la joie partagée est une joie doublée; "
              "les petits pas mènent loin; la gentillesse revient toujours; la patience est une sorte de magie; "
              "chaque problème a une solution; savoir écouter est aussi important que savoir parler"),
    beats=dict(
        intro=["Il était une fois [K:un|une] {K.bare} {trait:K} qui s'appelait {A}.",
               "{time}, {A}, [K:un|une] {K.bare} très {trait:K}, se réveilla tôt dans {Q.poss}.",
               "{W.loc} vivait [K:un|une] {K.bare} nommé[K:|e] {A}.",
               "{A} était [K:un|une] {K.bare} {trait:K} qui vivait {W.loc}.",
               "Il y a bien longtemps, {W.loc}, vivait [K:un|une] {K.bare} {trait:K} appelé[K:|e] {A}."],
        desc=["{A} adorait {act}.",
              "Chaque jour, {A} allait {act} avec {rel}.",
              "{A} était {trait:A}, mais parfois un peu {flaw:A} aussi.",
              "{A} adorait manger {food}, surtout (le matin|le soir|le dimanche).",
              "Tout le monde {W.loc} connaissait {A}, car [A:il|elle] (riait|chantait|parlait) très "
              "(fort|joliment|souvent).",
              "Quand il pleuvait, {A} restait à la maison pour "
              "(peindre|lire des histoires|faire des biscuits|faire des puzzles).",
              "{rel} lui disait souvent : « {A}, tu es [K:un|une] {K.bare} vraiment {trait:K} ! »"],
        home=["{Q.poss} était petit[Q:|e] et douillet[Q:|te], et par la fenêtre on voyait des {sights}.",
              "La nuit, {A} dormait dans {Q.poss} sous une couverture {col:f}."],
        want=["{time}, {A} voulut trouver {T.a} {adj:T}.",
              "Plus que tout au monde, {A} rêvait d'avoir {T.a} {col:T}.",
              "{time}, {A} entendit parler d'{T.a} {adj:T} caché[T:|e] {P.loc}.",
              "{A} rêvait d'{T.a} {adj:T} et {col:T}.",
              "{time}, {A} dit : « Aujourd'hui, je vais trouver {T.a} ! »"],
        reason=["[A:Il|Elle] voulait en faire cadeau à {rel}.",
                "Personne {W.loc} n'avait jamais rien vu de pareil.",
                "Avec {T.a} pareil[T:|le], [A:il|elle] pourrait {act} toute la journée."],
        friend=["[B:Son meilleur ami|Sa meilleure amie] était [F:un|une] {F.bare} {trait:F} nommé[F:|e] {B}.",
                "En chemin, [A:il|elle] rencontra {B}, [F:un|une] {F.bare} qui habitait tout près.",
                "{A} alla chercher [B:son ami|son amie] {B}, [F:un|une] {F.bare} très {trait:F}."],
        say_want=["« {B}, je veux trouver {T.a} ! » {say} {A}. « Tu viens avec moi ? »",
                  "« Allons {P.dir} ! » {say} {A}. « On dit qu'il y a {T.a} {adj:T} là-bas. »",
                  "« Tu peux m'aider ? » demanda {A} à {B}. « Je cherche {T.a}. »",
                  "« Devine quoi, {B} ! » {say} {A}. « {^P.loc}, il y a {T.a}, et je veux [T:le|la] trouver. »"],
        reply=["« Bien sûr ! » {say} {B}. « J'adore les aventures. »",
               "{B} (sourit|hocha la tête|éclata de rire). « Oui, allons-y ensemble ! »",
               "« J'ai un peu peur, mais je viens avec toi », {say} {B}."],
        travel=["Alors {A} et {B} {move_pl} {P.dir}.",
                "Ils passèrent près de {W}, traversèrent un pont "
                "(ancien|étroit|en bois|en pierre|branlant) et un champ plein de {sights}.",
                "Les deux amis marchèrent longtemps. {weather}",
                "D'abord, ils arrivèrent près d'{places.a}, où il y avait des {sights} partout.",
                "Le chemin vers {P} était long et (sinueux|étroit|escarpé|ombragé|boueux|caillouteux)."],
        sight=["Il y avait des {sights} et des {sights} partout.",
               "{weather}",
               "L'air sentait {smell}.",
               "Au loin, ils entendirent {sound}.",
               "Au bord du chemin, {kinds.a} (dormait|chantait|dansait|bâillait)."],
        event=["Ils s'arrêtèrent pour se reposer et mangèrent {food} et {food}.",
               "{kinds.a} leur demanda : « Où allez-vous ? » « Nous allons {P.dir} », répondit {A}.",
               "{A} trouva {things.a} au bord du chemin et le mit dans sa poche.",
               "{B} raconta une histoire très drôle, et {A} rit aux éclats.",
               "Ils chantèrent une chanson sur les {sights}."],
        feel_bad=["{A} se sentait {feel_bad:A} et {feel_bad:A}.",
                  "{A} s'assit sur une pierre et se mit à pleurer.",
                  "[A:Il|Elle] avait le cœur lourd, et {B} aussi avait l'air {feel_bad:B}."],
        say_worry=["« Qu'allons-nous faire maintenant ? » (demanda|soupira|chuchota) {A}.",
                   "« Nous n'aurons jamais {T} », (dit|soupira|chuchota) {A} tout bas.",
                   "« N'abandonne pas », {say} {B}. « Il y a toujours une solution. »"],
        helper=["Juste à ce moment-là, {H.a} passa par là.",
                "Alors ils entendirent une voix. C'était {H.a} qui avait tout vu.",
                "Heureusement, {H.a} habitait tout près."],
        say_help=["« Ne vous inquiétez pas », dit {H}. « Je vais vous aider. »",
                  "« Qu'est-ce qui ne va pas, mes petits ? » demanda {H}. {A} raconta toute l'histoire.",
                  "« S'il vous plaît, aidez-nous », dit {A} à {H}. « Nous avons besoin de {T}. »"],
        get=["Enfin, {A} tenait {T} entre ses mains.",
             "{A} ramassa {T}. [T:Il|Elle] était encore plus {pretty:T} qu'[A:il|elle] ne l'avait imaginé.",
             "« On a réussi ! » crièrent {A} et {B} ensemble."],
        ret=["Puis {A} et {B} rentrèrent ensemble à la maison au coucher du soleil.",
             "Ils remercièrent {H} et rentrèrent chez eux.",
             "Sur le chemin du retour, ils (chantèrent|rirent|parlèrent) de leur aventure."],
        feel_good=["{A} se sentait {feel_good:A} et {feel_good:A}.",
                   "Ce soir-là, {A} s'endormit avec un grand sourire."],
        moral=["{A} avait appris que {lesson}.",
               "Et depuis ce jour, {A} et {B} sont les meilleurs amis du monde.",
               "Et ils vécurent heureux pour toujours.",
               "Fin."]),
    problem=[("Mais {T} était coincé[T:|e] tout en haut d'un arbre.",
              "{H} grimpa dans l'arbre et [T:le|la] fit descendre."),
             ("Mais une large rivière les séparait de {T}.",
              "{H} leur montra des pierres, et ils sautèrent de l'autre côté."),
             ("Mais {T} était enfermé[T:|e] dans un vieux coffre, et personne n'avait la clé.",
              "{H} trouva une petite clé sous une pierre, et le coffre s'ouvrit avec un clic."),
             ("Soudain, de gros nuages noirs arrivèrent et un orage éclata.",
              "{H} les laissa attendre dans sa maison jusqu'au retour du soleil."),
             ("Mais il faisait si sombre qu'ils ne voyaient plus rien.",
              "{H} apporta une lanterne, et bientôt ils virent briller {T}."),
             ("Alors {A} trébucha et perdit la carte.",
              "{H} connaissait le chemin et les guida par un sentier secret."),
             ("Mais {T} était tombé[T:|e] dans un trou profond.",
              "{H} fit descendre une corde, et {A} remonta {T}."),
             ("Mais un grand arbre tombé bloquait le chemin.",
              "Avec l'aide de {H}, ils poussèrent et poussèrent jusqu'à ce que l'arbre roule sur le côté."),
             ("Mais {B} était fatigué[B:|e] et s'assit par terre.",
              "{H} leur donna {food}, et bientôt {B} se sentit plus fort[B:|e]."),
             ("Mais {T} était cassé[T:|e] en trois morceaux.",
              "{H} [T:le|la] répara avec de la colle, du fil et beaucoup de patience."),
             ("Mais un épais brouillard couvrait tout, et ils se perdirent.",
              "{H} chanta très fort, et ils suivirent la chanson pour sortir du brouillard.")],
)

# --------------------------------------------------------------------------------------------- Russian
def _noun_rus(e, kind):
    forms = e.split('|')  # places and homes: nominative|where|where to
    w, _, g = forms[0].partition(':')
    g = 'mfn'.index(g) if g else 1 if w.endswith(('а', 'я')) else 2 if w.endswith(('о', 'е', 'ё')) else 0
    acc = ' '.join(_ru_acc(x) for x in w.split()) if g == 1 and kind == 'things' else w
    return dict({'': w, 'acc': acc, 'g': g}, **({'loc': forms[1], 'dir': forms[2]} if len(forms) == 3 else {}))


def _ru_acc(x):
    for a, b in (('ая', 'ую'), ('яя', 'юю'), ('а', 'у'), ('я', 'ю')):
        if x.endswith(a):
            return x[:-len(a)] + b
    return x


def _ru_agree_word(x, g):  # g: 1 feminine, 2 neuter; adjectives in -ый/-ой/-ий and past tense verbs in -л/-лся
    if x.endswith(('ый', 'ой')) or x.endswith('ий') and x[-3] in 'кгх':
        return x[:-2] + ('ая', 'ое')[g - 1]
    if x.endswith('ий'):
        return x[:-2] + (('ая', 'ее') if x[-3] in 'жшчщ' else ('яя', 'ее'))[g - 1]
    if x.endswith('лся'):
        return x[:-2] + ('ась', 'ось')[g - 1]
    return x + ('а', 'о')[g - 1] if x.endswith('л') else x


RUS = dict(
    noun=_noun_rus, sep=' ', agree=lambda w, g: ' '.join(_ru_agree_word(x, g) for x in w.split()) if g else w,
    names_m=_l("Миша Саша Ваня Петя Коля Дима Лёша Серёжа Андрей Илья Максим Артём Тимофей Егор Матвей Гоша "
               "Федя Костя Никита Глеб"),
    names_f=_l("Маша Аня Катя Оля Лена Настя Даша Соня Полина Вера Надя Таня Света Юля Алиса Варя Лиза Ксюша "
               "Ева Мила"),
    syll=_l("ба бо ми ла ру ша ти ко на ле ва зу пи ро та ню ся фе до ли"),
    kinds=_l("лиса заяц сова медведь:m мышка кот собака утка лягушка ёжик белка барсук олень:m волк коза "
             "ягнёнок пони:m лошадь:f ослик поросёнок корова курица гусь:m лебедь:m черепаха улитка жук бабочка "
             "пчела муравей паук сверчок мотылёк ворона воробей попугай пингвин тюлень:m выдра бобр енот крот "
             "ящерица краб рыбка кит дельфин котёнок щенок тигр лев слон жираф зебра обезьяна панда "
             "кенгуру:m верблюд лось:m хомяк цыплёнок дракон единорог светлячок дятел аист жаба"),
    helpers=_l("пекарь:m, фермер, рыбак, учительница, бабушка, дедушка:m, моряк, художник, доктор, садовник, "
               "продавец, мельник, портной, плотник, почтальон, пчеловод, пастух, кузнец, библиотекарь:m, "
               "лесник, фея, великан, волшебник, королева, король:m, принцесса, рыцарь:m, повар, музыкант, "
               "дровосек, смотритель маяка:m, мудрая черепаха, старая сова"),
    things=_l("воздушный змей, мяч, книга, шляпа, шарф, фонарь:m, ключ, карта, ракушка, камень:m, перо, лента, "
              "шарик, барабан, флейта, колокольчик, лодка, корзинка, одеяло, пуговица, свеча, монетка, корона, "
              "чашка, кукла, яйцо, флажок, перчатка, арфа, кувшин, чайник, лестница, лампа, зеркало, сеть:f, "
              "кисточка, жемчужина, камешек, карандаш, подушка, вертушка, головоломка, кольцо, верёвка, парус, "
              "семечко, ложка, звезда, статуя, меч, палатка, билет, игрушка, поезд, труба, зонтик, ваза, "
              "скрипка, тележка, свисток, компас, мелок, дневник, письмо, фонарик, глобус, гамак, шлем, "
              "медальон, магнит, шкатулка, тетрадь:f, кораблик, посылка, шишка, открытка, ракета, сундук, клад, "
              "ведёрко, лопатка, волчок, гармошка, велосипед, рюкзак, бутылка, картина, подарок"),
    places=_l("лес|в лесу|в лес, луг|на лугу|на луг, река|у реки|к реке, озеро|у озера|к озеру, "
              "холм|на холме|на холм, гора|на горе|на гору, долина|в долине|в долину, деревня|в деревне|в деревню, "
              "город|в городе|в город, рынок|на рынке|на рынок, сад|в саду|в сад, ферма|на ферме|на ферму, "
              "пляж|на пляже|на пляж, гавань:f|в гавани|в гавань, остров|на острове|на остров, "
              "пещера|в пещере|в пещеру, мост|на мосту|на мост, замок|в замке|в замок, башня|в башне|в башню, "
              "библиотека|в библиотеке|в библиотеку, школа|в школе|в школу, парк|в парке|в парк, "
              "пруд|у пруда|к пруду, поле|в поле|в поле, пустыня|в пустыне|в пустыню, болото|на болоте|на болото, "
              "поляна|на поляне|на поляну, водопад|у водопада|к водопаду, маяк|у маяка|к маяку, "
              "пекарня|в пекарне|в пекарню, чердак|на чердаке|на чердак, вокзал|на вокзале|на вокзал, "
              "зоопарк|в зоопарке|в зоопарк, музей|в музее|в музей, ярмарка|на ярмарке|на ярмарку, "
              "роща|в роще|в рощу, берег|на берегу|на берег, овраг|в овраге|в овраг"),
    homes=_l("нора|в норе|в нору, домик|в домике|в домик, гнездо|в гнезде|в гнездо, берлога|в берлоге|в берлогу, "
             "хижина|в хижине|в хижину, домик на дереве:m|в домике на дереве|в домик на дереве, дом|в доме|в дом, "
             "избушка|в избушке|в избушку, дупло|в дупле|в дупло, мельница|на мельнице|на мельницу, "
             "шалаш|в шалаше|в шалаш, теремок|в теремке|в теремок"),
    flaw=_l("неуклюжий ворчливый ленивый рассеянный упрямый пугливый шумный непоседливый забывчивый "
            "нетерпеливый капризный робкий"),
    trait=_l("смелый любопытный застенчивый умный добрый весёлый игривый осторожный тихий шумный живой "
             "неуклюжий терпеливый мечтательный забавный щедрый ворчливый честный голодный ленивый вежливый "
             "гордый сонный хитрый упрямый милый мудрый юный храбрый спокойный бойкий озорной"),
    adj=_l("маленький большой старый новый блестящий золотой серебряный волшебный тайный красивый странный "
           "чудесный гладкий тяжёлый лёгкий длинный высокий широкий глубокий пушистый тёплый яркий мягкий "
           "круглый деревянный стеклянный бархатный огромный крошечный драгоценный редкий хрупкий сладкий "
           "древний знаменитый особенный пёстрый полосатый пятнистый квадратный кудрявый загадочный "
           "сверкающий нарядный"),
    col=_l("красный синий зелёный жёлтый оранжевый фиолетовый розовый коричневый чёрный белый серый голубой"),
    feel_good=_l("счастливый радостный довольный гордый весёлый спокойный благодарный"),
    feel_bad=_l("грустный испуганный усталый голодный одинокий растерянный сердитый расстроенный встревоженный "
                "печальный"),
    act=_l("играть в прятки, петь песни, танцевать под дождём, строить замки из песка, собирать ракушки, "
           "лазить по деревьям, рисовать картинки, читать сказки, печь печенье, считать звёзды, "
           "смотреть на облака, гоняться за бабочками, прыгать по лужам, собирать цветы, "
           "запускать воздушного змея, кататься на велосипеде, играть на барабане, рассказывать шутки, "
           "делать бумажные кораблики, сажать семена, кататься с горки, купаться в озере, искать сокровища, "
           "рисовать карты, играть на флейте, насвистывать песенки, кормить уток, ходить в гости, "
           "спать на солнышке, учить новые слова, пускать мыльные пузыри, слушать птиц"),
    food=_l("мёд ягоды яблоки морковку хлеб сыр суп печенье пирог кашу груши сливы орехи блины варенье молоко "
            "чай лимонад виноград вишню персики кукурузу горох рис лапшу булочки апельсины бананы дыню "
            "клубнику чернику малину бутерброды яйца пряники грибы картошку пельмени йогурт инжир финики "
            "каштаны огурцы помидоры"),
    sights=_l("цветы ромашки тюльпаны розы маки грибы папоротники камешки ракушки листья шишки деревья дубы "
              "берёзы ивы кусты камыши облака бабочки пчёлы птицы стрекозы светлячки лужи холмы скалы ручьи "
              "волны звёзды домики заборы мельницы овцы коровы подсолнухи одуванчики перья брёвна"),
    smell=_l("хвоей, дождём, розами, свежим хлебом, мёдом, мокрой травой, солью, мятой, дымом, яблоками, "
             "лавандой, корицей, мхом, морем, сеном"),
    sound=_l("тихое жужжание, громкий всплеск, тонкий писк, весёлый свист, низкий гул, тихий смешок, треск, "
             "далёкий звон, странный шорох, сладкую песенку, громкое рычание, стук, далёкий барабан, "
             "скрип двери, шелест листьев"),
    weather=_l("Солнце светило ярко и тепло., Между деревьями дул прохладный ветер., Пошёл тихий дождик., "
               "Небо было голубое и ясное., По небу плыли пушистые облака., В каждом кусте пели птицы., "
               "В воздухе кружились снежинки., Над холмами взошла большая круглая луна., "
               "Над водой висел туман., После дождя появилась радуга., Листья шуршали под ногами."),
    time=_l("Однажды утром, Однажды солнечным утром, Как-то дождливым днём, Однажды весной, "
            "Холодным зимним вечером, Однажды летней ночью, Поздней осенью, В первый день весны, "
            "Туманным утром, В ветреный день, В воскресенье, Однажды"),
    move_pl=_l("пошли побежали зашагали отправились поспешили двинулись поскакали"),
    say=_l("сказал прошептал крикнул позвал засмеялся вздохнул воскликнул пробормотал пискнул"),
    rel_dat=_l("маме папе бабушке дедушке сестрёнке братишке тёте дяде"),
    lesson=_l("с друзьями любая дорога короче; просить о помощи не стыдно; "
              "смелость — это идти вперёд, даже когда страшно; радость становится больше, когда ею делишься; "
              "маленькие шаги ведут далеко; доброта всегда возвращается; терпение — это тоже волшебство; "
              "из любой беды есть выход; слушать так же важно, как говорить"),
    beats=dict(
        intro=["[K:Жил-был|Жила-была|Жило-было] {W.loc} {trait:K} {K} по имени {A}.",
               "Однажды {W.loc} [K:жил|жила|жило] {trait:K} {K}. [K:Его|Её|Его] звали {A}.",
               "{time} {trait:K} {K} {A} проснул[K:ся|ась|ось] {Q.loc} раньше всех.",
               "Далеко-далеко, {W.loc}, [K:жил|жила|жило] {K} по имени {A}."],
        desc=["{A} очень любил[A:|а] {act}.",
              "{A} был[A:|а] {trait:A}, но иногда и немного {flaw:A}.",
              "Больше всего на свете {A} любил[A:|а] есть {food}.",
              "Все {W.loc} слышали, как {A} (поёт|смеётся|болтает) по утрам.",
              "Когда шёл дождь, {A} сидел[A:|а] дома и рисовал[A:|а] картинки.",
              "Мама часто говорила: «{A}, ты сам[K:ый|ая|ое] {trait:K} {K} на свете!»"],
        home=["[A:Его|Её] {Q} был[Q:|а|о] {adj:Q} и уютн[Q:ый|ая|ое].",
              "По ночам {A} спал[A:|а] {Q.loc} под тёплым одеялом."],
        want=["{time} {A} захотел[A:|а] найти {T.acc}.",
              "Больше всего на свете {A} хотел[A:|а], чтобы у [A:него|неё] был[T:|а|о] {col:T} {T}.",
              "{time} {A} услышал[A:|а], что {P.loc} спрятан[T:|а|о] {adj:T} {T}.",
              "{A} мечтал[A:|а], что однажды найдёт {T.acc}.",
              "{time} {A} сказал[A:|а]: «Сегодня я найду {T.acc}!»"],
        reason=["[A:Он|Она] хотел[A:|а] подарить [T:его|её|его] {rel_dat}.",
                "Никто {W.loc} никогда не видел ничего подобного."],
        friend=["[A:Его|Её] лучш[B:ий друг|ая подруга] — {trait:F} {F} по имени {B}.",
                "По дороге [A:ему|ей] встретил[F:ся|ась|ось] {F} по имени {B}.",
                "{A} постучал[A:|а] в соседнюю дверь. Там жил[F:|а|о] {trait:F} {F} {B}."],
        say_want=["«{B}, я хочу найти {T.acc}!» — {say:A} {A}. — «Пойдёшь со мной?»",
                  "«Пойдём {P.dir}!» — {say:A} {A}. — «Говорят, там есть {adj:T} {T}.»",
                  "«Ты мне поможешь?» — спросил[A:|а] {A}. — «Я ищу {T.acc}.»"],
        reply=["«Конечно!» — {say:B} {B}. — «Я обожаю приключения.»",
               "{B} улыбнул[B:ся|ась]: «Да, пойдём вместе!»",
               "«Мне немного страшно, но я пойду с тобой», — {say:B} {B}."],
        travel=["И вот {A} и {B} {move_pl} {P.dir}.",
                "Друзья шли долго. {weather}",
                "Сначала они пришли {places.dir}, где повсюду были {sights}.",
                "Они перешли через (старый|узкий|деревянный|каменный|шаткий) мостик и поднялись на высокий холм.",
                "Дорога была длинной и трудной, но друзья не унывали."],
        sight=["Вокруг были {sights} и {sights}.",
               "{weather}",
               "Пахло {smell}.",
               "Вдали они услышали {sound}.",
               "По пути им попадались {sights}."],
        event=["Они сели отдохнуть и съели {food}.",
               "{B} рассказал[B:|а] смешную историю, и {A} долго смеял[A:ся|ась].",
               "У дороги {A} [A:нашёл|нашла] {things.acc} и положил[A:|а] в карман.",
               "Они пели песенку про {sights} и {food}."],
        feel_bad=["{A} был[A:|а] очень {feel_bad:A}.",
                  "{A} сел[A:|а] на камень и заплакал[A:|а].",
                  "На душе было тяжело, и {B} тоже был[B:|а] {feel_bad:B}."],
        say_worry=["«Что же нам теперь делать?» — (спросил|вздохнул|прошептал)[A:|а] {A}.",
                   "«Мы никогда не найдём {T.acc}», — тихо (сказал|вздохнул|прошептал)[A:|а] {A}.",
                   "«Не сдавайся», — {say:B} {B}. — «Выход всегда есть.»"],
        helper=["В этот момент мимо проходил[H:|а|о] {H}.",
                "Вдруг они услышали голос. Это был[H:|а|о] {H}.",
                "К счастью, рядом жил[H:|а|о] {H}."],
        say_help=["«Не волнуйтесь», — сказал[H:|а|о] {H}. — «Я вам помогу.»",
                  "«Что случилось, малыши?» — спросил[H:|а|о] {H}. {A} рассказал[A:|а] всю историю.",
                  "«Помогите нам, пожалуйста», — попросил[A:|а] {A}. — «Нам очень нуж[T:ен|на|но] {T}.»"],
        get=["Наконец {A} держал[A:|а] {T.acc} в руках.",
             "{A} поднял[A:|а] {T.acc}. [T:Он|Она|Оно] был[T:|а|о] ещё красивее, чем [A:он|она] думал[A:|а].",
             "«У нас получилось!» — закричали {A} и {B}."],
        ret=["Потом {A} и {B} вместе пошли домой, а солнце садилось за лесом.",
             "Друзья сказали спасибо и отправились домой.",
             "На обратном пути они пели песни и смеялись."],
        feel_good=["{A} был[A:|а] {feel_good:A} и {feel_good:A}.",
                   "В ту ночь {A} заснул[A:|а] с улыбкой."],
        moral=["{A} понял[A:|а], что {lesson}.",
               "И с того дня {A} и {B} стали лучшими друзьями.",
               "Вот и сказке конец."]),
    problem=[("Но {T} застрял[T:|а|о] высоко на дереве.",
              "{H} [H:залез|залезла|залезло] на дерево и достал[H:|а|о] {T.acc}."),
             ("Но дорогу им преградила широкая река.",
              "{H} показал[H:|а|о] им камни, и они перепрыгнули на другой берег."),
             ("Но {T} был[T:|а|о] заперт[T:|а|о] в старом сундуке, а ключа ни у кого не было.",
              "{H} [H:нашёл|нашла|нашло] ключик под камнем, и сундук открылся с тихим щелчком."),
             ("Вдруг набежали тёмные тучи, и началась сильная гроза.",
              "{H} пустил[H:|а|о] их к себе в дом, и они переждали грозу."),
             ("Но стало так темно, что ничего не было видно.",
              "{H} [H:принёс|принесла|принесло] фонарь, и скоро они увидели, как блестит {T}."),
             ("Тут {A} споткнул[A:ся|ась] и потерял[A:|а] карту.",
              "{H} знал[H:|а|о] дорогу и [H:провёл|провела|провело] их тайной тропой."),
             ("Но {T} упал[T:|а|о] в глубокую яму.",
              "{H} спустил[H:|а|о] верёвку, и {A} вытащил[A:|а] {T.acc}."),
             ("Но {B} устал[B:|а] и сел[B:|а] на землю.",
              "{H} дал[H:|а|о] им {food}, и скоро {B} снова почувствовал[B:|а] себя сильн[B:ым|ой]."),
             ("Но {T} разбил[T:ся|ась|ось] на три части.",
              "{H} склеил[H:|а|о] [T:его|её|его] клеем и нитками."),
             ("Но всё вокруг закрыл густой туман, и друзья заблудились.",
              "{H} громко запел[H:|а|о], и они пошли на голос и вышли из тумана.")],
)


# --------------------------------------------------------------------------------------------- Chinese
def _noun_cmn(e, kind):
    e, _, where = e.partition('@')  # each noun is written with its measure word first: 只兔子
    return {'': e[1:], 'm': e[0], 'a': '一' + e, 'loc': f"在{e[1:]}{where or '里'}", 'g': 0}


CMN = dict(
    noun=_noun_cmn, agree=lambda w, g: w, sep='',
    names_m=_l("小明 小刚 小军 小东 小龙 小虎 小宝 阿强 大伟 小杰 乐乐 豆豆 小磊 阿福 小川"),
    names_f=_l("小红 小兰 小丽 小芳 小美 小雪 小雨 小花 甜甜 圆圆 婷婷 小燕 小梅 阿秀 小月"),
    syll=_l("米 乐 多 朵 妞 宝 贝 毛 球 团 糖 果 星 月 云 雨 花 叶 桃 杏 丁 当 咚 嘟"),
    kinds=_l("只狐狸 只兔子 只猫头鹰 头熊 只老鼠 只猫 只小狗 只鸭子 只青蛙 只刺猬 只松鼠 只獾 头鹿 只狼 只山羊 "
             "只小羊 匹小马 匹马 头驴 头猪 头牛 只母鸡 只鹅 只天鹅 只乌龟 只蜗牛 只甲虫 只瓢虫 只蝴蝶 只蜜蜂 "
             "只蚂蚁 只蜘蛛 只蟋蟀 只蝙蝠 只乌鸦 只麻雀 只鹦鹉 只企鹅 只海豹 只水獭 只河狸 只浣熊 只鼹鼠 只蜥蜴 "
             "只螃蟹 条小鱼 头鲸鱼 只海豚 只章鱼 只小猫 只老虎 头狮子 头大象 只长颈鹿 匹斑马 只猴子 只熊猫 "
             "只袋鼠 头骆驼 只仓鼠 只小鸡 条龙 只独角兽 只萤火虫 只啄木鸟 只孔雀 只喜鹊"),
    helpers=_l("位老爷爷 位老奶奶 位面包师 位农夫 位渔夫 位老师 位水手 位画家 位医生 位园丁 位店主 位磨坊主 "
               "位裁缝 位木匠 位邮递员 位养蜂人 位牧羊人 位铁匠 位图书管理员 位消防员 位飞行员 位钟表匠 位仙女 "
               "个巨人 位魔法师 位王后 位国王 位公主 位骑士 位厨师 位音乐家 位樵夫 位守塔人 只老猫头鹰 只老乌龟"),
    things=_l("只风筝 个球 本书 顶帽子 条围巾 盏灯笼 把钥匙 张地图 个贝壳 块石头 根羽毛 条丝带 个气球 面鼓 "
              "支笛子 个铃铛 条小船 个篮子 条毯子 颗纽扣 根蜡烛 个闹钟 枚硬币 顶王冠 个杯子 个娃娃 个彩蛋 "
              "把扇子 面旗子 副手套 架竖琴 个罐子 个水壶 架梯子 盏台灯 颗弹珠 面镜子 条项链 张渔网 支画笔 "
              "颗珍珠 块鹅卵石 支铅笔 个枕头 个风车 幅拼图 枚戒指 根绳子 颗种子 架雪橇 把勺子 颗星星 座雕像 "
              "把宝剑 个茶壶 架望远镜 顶帐篷 张车票 个玩具 列小火车 把小号 把雨伞 个花瓶 把小提琴 辆小车 "
              "个哨子 个指南针 支蜡笔 本日记 封信 个手电筒 个地球仪 个吊床 个头盔 个挂坠 块磁铁 个音乐盒 "
              "本笔记本 只纸船 个包裹 个松果 张明信片 枚火箭 个雪花球 个宝箱 个小桶 把铲子 个陀螺 辆自行车 "
              "个背包 个瓶子 幅画 份礼物"),
    places=_l("片森林 片草地 条小河@边 个湖@边 座小山@上 座大山@上 个山谷 个村子 座小城 个集市@上 个花园 个果园 "
              "个农场 个谷仓 片海滩@上 个港口 座小岛@上 个山洞 座桥@上 座城堡 座高塔 个图书馆 所学校 个公园 "
              "个池塘@边 片田野 片沙漠 片丛林 片沼泽 片空地@上 道瀑布@边 座灯塔@旁 家面包店 个厨房 个阁楼 "
              "个地下室 个火车站 个动物园 个博物馆 个游乐场 个马戏团 片竹林 片稻田 片荷塘@边"),
    homes=_l("个洞 间小屋 个鸟窝 个树洞 间木屋 座树屋 个家 顶帐篷 座风车 座灯塔 间茅屋"),
    flaw=_l("粗心 懒惰 胆小 急躁 固执 马虎 贪玩 爱哭 调皮 害羞 健忘"),
    trait=_l("勇敢 好奇 害羞 聪明 温柔 善良 开朗 爱玩 细心 安静 调皮 活泼 耐心 大方 诚实 机灵 勤劳 有礼貌 "
             "胆小 贪吃 爱睡觉 淘气 可爱 乐观"),
    adj=_l("闪亮 古老 小小 大大 圆圆 软软 温暖 明亮 神奇 秘密 漂亮 奇怪 美丽 光滑 沉重 轻巧 长长 高高 毛茸茸 "
           "亮晶晶 珍贵 稀有 精致 特别 五颜六色 可爱 巨大 神秘 闪闪发光 崭新 有趣 迷人 金灿灿"),
    col=_l("红色 蓝色 绿色 黄色 橙色 紫色 粉色 棕色 黑色 白色 灰色 金色 银色 天蓝色"),
    feel_good=_l("开心 高兴 自豪 快乐 满足 感激 平静 兴奋 幸福 安心 激动 得意"),
    feel_bad=_l("难过 害怕 担心 孤单 累 生气 伤心 着急 失望 紧张 委屈 沮丧"),
    act=_l("玩捉迷藏 唱歌 在雨里跳舞 堆沙堡 捡贝壳 爬树 画画 看故事书 烤饼干 数星星 看白云 追蝴蝶 踩水坑 摘花 "
           "放风筝 骑自行车 敲小鼓 讲笑话 折纸船 种花 在湖里游泳 找宝藏 画地图 吹笛子 喂小鸭子 晒太阳 学新字 "
           "吹泡泡 听小鸟唱歌 去树林里探险"),
    food=_l("蜂蜜 浆果 苹果 胡萝卜 面包 奶酪 热汤 饼干 蛋糕 粥 梨 李子 坚果 煎饼 果酱 牛奶 茶 柠檬水 葡萄 樱桃 "
            "桃子 玉米 豌豆 米饭 面条 橘子 香蕉 西瓜 草莓 蓝莓 鸡蛋 蘑菇 土豆 饺子 包子 月饼 红枣 核桃 栗子 "
            "白菜 黄瓜 西红柿 汤圆 馒头"),
    sights=_l("鲜花 雏菊 郁金香 玫瑰 蘑菇 小石子 贝壳 落叶 松果 大树 柳树 灌木 芦苇 白云 蝴蝶 蜜蜂 小鸟 蜻蜓 "
              "萤火虫 水坑 岩石 小溪 浪花 星星 房子 篱笆 风车 羊群 向日葵 蒲公英 羽毛 竹子 荷花"),
    smell=_l("松树 雨水 玫瑰 新鲜面包 蜂蜜 青草 薄荷 苹果 桂花 泥土 大海 干草"),
    sound=_l("嗡嗡声 扑通声 吱吱声 口哨声 隆隆声 咯咯的笑声 咔嚓声 钟声 鼓声 歌声 沙沙声 蛙鸣 鸟叫声"),
    weather=_l("太阳暖洋洋的。 凉风吹过树林。 天上下起了小雨。 天空又蓝又亮。 白云慢慢地飘过。 小鸟在树上唱歌。 "
               "雪花在空中飞舞。 又大又圆的月亮升起来了。 水面上飘着薄薄的雾。 雨后出现了一道彩虹。 "
               "落叶在脚下沙沙作响。"),
    time=_l("一天早上 一个晴朗的早晨 一个下雨的下午 一个春天的早晨 一个寒冷的冬夜 一个夏天的晚上 一个秋天的下午 "
            "春天的第一天 一个有雾的早晨 一个刮风的日子 一个星期天"),
    move=_l("高高兴兴地 蹦蹦跳跳地 慢慢地 急急忙忙地 手拉着手 一路小跑着 说说笑笑地"),
    say=_l("说 小声说 大声说 喊道 笑着说 叹了口气说"),
    rel=_l("妈妈 爸爸 奶奶 爷爷 外婆 外公 妹妹 弟弟 姐姐 哥哥"),
    lesson=_l("朋友能让每一段路都变短 遇到困难可以请别人帮忙 勇敢就是害怕的时候也继续努力 快乐分享出去就会变得更多 "
              "小小的脚步也能走很远 善良总会回到你身边 耐心也是一种魔法 每个问题都有解决的办法"),
    beats=dict(
        intro=["从前，{W.loc}住着{K.a}，名叫{A}。",
               "{A}是{K.a}，又{trait}又{trait}，住{W.loc}。",
               "很久很久以前，有{K.a}叫{A}，[A:他|她]非常{trait}。",
               "{time}，{A}在{Q}里醒来了。{A}是{K.a}，住{W.loc}。"],
        desc=["{A}最喜欢{act}。",
              "每天，{A}都和{rel}一起{act}。",
              "{A}很{trait}，可有时候也有点儿{flaw}。",
              "{A}最爱吃的东西是{food}。",
              "{W}的每个人都认识{A}，因为[A:他|她]总是在(笑|唱歌|说话)。",
              "下雨的时候，{A}喜欢待在家里(画画|看故事书|折纸船|讲故事)。"],
        home=["[A:他|她]的{Q}又小又温暖，窗外能看见{sights}。",
              "晚上，{A}盖着一条{col}的小毯子，在{Q}里睡觉。"],
        want=["{time}，{A}想去找{T.a}。",
              "{A}最想要的，就是一{T.m}{col}的{T}。",
              "{time}，{A}听说{P.loc}藏着一{T.m}{adj}的{T}。",
              "{A}常常梦见一{T.m}{adj}的{T}。",
              "{time}，{A}说：“今天我一定要找到{T.a}！”"],
        reason=["[A:他|她]想把它送给{rel}。",
                "{W.loc}从来没有人见过这样的东西。"],
        friend=["[A:他|她]最好的朋友是{F.a}，名叫{B}。",
                "路上，[A:他|她]遇到了{B}，{B}是{F.a}，又{trait}又{trait}。"],
        say_want=["“{B}，我想去找{T.a}！”{A}{say}，“你愿意和我一起去吗？”",
                  "“我们去{P}吧！”{A}{say}，“听说那里有一{T.m}{adj}的{T}。”",
                  "{A}问{B}：“你能帮帮我吗？我在找{T.a}。”"],
        reply=["“当然！”{B}{say}，“我最喜欢冒险了。”",
               "{B}笑了笑，说：“好啊，我们一起去。”",
               "“我有点儿{feel_bad}，不过我会陪你去。”{B}说。"],
        travel=["于是，{A}和{B}{move}朝{P}走去。",
                "两个好朋友走了很久很久。{weather}",
                "他们先来到了{places.a}，那里到处都是{sights}。",
                "他们走过一座(木头|石头|摇摇晃晃|弯弯|窄窄)的小桥，穿过一片开满鲜花的田野。"],
        sight=["到处都是{sights}和{sights}。",
               "{weather}",
               "空气里有{smell}的味道。",
               "远处传来了{sound}。",
               "路边有{kinds.a}正在(睡觉|唱歌|跳舞|打哈欠)。"],
        event=["他们停下来，吃了一些{food}和{food}。",
               "{B}讲了一个好笑的故事，{A}笑个不停。",
               "{A}在路边捡到了{things.a}，把它放进了口袋里。",
               "{kinds.a}问他们：“你们要去哪儿？”{A}回答：“我们要去{P}。”"],
        feel_bad=["{A}觉得又{feel_bad}又{feel_bad}。",
                  "{A}坐在一块石头上，哭了起来。",
                  "{A}心里很难受，{B}也很{feel_bad}。"],
        say_worry=["“我们现在该怎么办呢？”{A}(小声说|叹了口气说|问)。",
                   "“我们永远也拿不到{T}了。”{A}小声说。",
                   "“别放弃，”{B}说，“总会有办法的。”"],
        helper=["就在这时，{H.a}走了过来。",
                "幸好，附近住着{H.a}。",
                "忽然，他们听见有人说话。原来是{H.a}，什么都看见了。"],
        say_help=["“别担心，”{H}说，“我来帮你们。”",
                  "{A}对{H}说：“请帮帮我们吧，我们需要那{T.m}{T}。”",
                  "{H}问：“孩子们，出了什么事？”{A}把事情从头到尾讲了一遍。"],
        get=["最后，{A}终于拿到了{T}。",
             "{A}捧着{T}，它比[A:他|她]想象的还要{adj}。",
             "“我们成功了！”{A}和{B}一起欢呼起来。"],
        ret=["太阳下山的时候，{A}和{B}一起回家了。",
             "他们谢过{H}，高高兴兴地回到了{Q}里。",
             "回家的路上，他们一边走一边(唱歌|说笑|聊天)。"],
        feel_good=["{A}感到又{feel_good}又{feel_good}。",
                   "那天晚上，{A}带着甜甜的笑容睡着了。"],
        moral=["{A}明白了：{lesson}。",
               "从那天起，{A}和{B}成了最好的朋友。",
               "故事讲完了。"]),
    problem=[("可是，{T}挂在一棵高高的树上，够不着。", "{H}爬上树，把{T}拿了下来。"),
             ("可是，一条宽宽的大河挡住了去路。", "{H}找来几块大石头，他们一块一块地跳了过去。"),
             ("可是，{T}被锁在一个旧箱子里，谁也没有钥匙。", "{H}在石头下面找到了一把小钥匙，箱子“咔嗒”一声打开了。"),
             ("突然，乌云密布，下起了大雨。", "{H}让他们到自己家里躲雨，等到太阳又出来了。"),
             ("可是，天太黑了，什么也看不见。", "{H}拿来一盏灯笼，很快他们就看见{T}在闪闪发光。"),
             ("这时，{A}摔了一跤，把地图弄丢了。", "{H}认识路，带着他们走了一条秘密小路。"),
             ("可是，{T}掉进了一个很深的洞里。", "{H}放下一根绳子，{A}把{T}拉了上来。"),
             ("可是，{B}累了，坐在地上再也走不动了。", "{H}给了他们一些{food}，{B}很快又有了力气。"),
             ("可是，{T}摔成了三块。", "{H}用胶水和细线，耐心地把它修好了。")],
)


# ---------------------------------------------------------------------------------------------- Arabic
def _noun_arb(e, kind):
    e, _, prep = e.partition('@')
    w, _, g = e.partition(':')
    g = 'mf'.index(g) if g else int(w.endswith('ة'))
    return {'': w, 'def': 'ال' + w, 'loc': f"{prep or 'في'} ال{w}", 'dir': f"إلى ال{w}", 'g': g}


_AR_LIL = re.compile(r"\bلال")  # li- + al- is written lil-

ARB = dict(
    noun=_noun_arb, sep=' ', agree=lambda w, g: w + 'ة' if g == 1 and not w.endswith('ة') else w,
    post=lambda t: _AR_LIL.sub('لل', t),
    names_m=_l("عمر علي يوسف سامي كريم زياد آدم حسن مالك رامي خالد طارق فارس ياسين نبيل هادي سليم مازن وليد ماجد"),
    names_f=_l("ليلى سلمى مريم نور هدى سارة فاطمة زينب ريم لينا دانة جنى رنا هند أمل سلوى يارا منى رحاب عبير"),
    syll=_l("سا مي نو را لي كا دو زي با هي فا تو جو ما لو ري"),
    kinds=_l("ثعلب أرنب بومة دب فأر قطة كلب بطة ضفدع قنفذ سنجاب غزال ذئب ماعز خروف حصان حمار بقرة دجاجة إوزة "
             "بجعة سلحفاة حلزون فراشة نحلة نملة عنكبوت خفاش غراب عصفور ببغاء بطريق فقمة سحلية سلطعون سمكة حوت "
             "دلفين أخطبوط جرو نمر أسد فيل زرافة قرد باندا:f كنغر جمل هامستر كتكوت تنين طاووس بلبل حمامة فهد "
             "لقلق"),
    helpers=_l("خباز مزارع صياد معلمة جدة جد بحار رسام طبيب بستاني بائع طحان خياط نجار نحال راعي حداد حطاب جنية "
               "عملاق ساحر ملكة ملك أميرة فارس طباخ موسيقي حكيم بومة سلحفاة"),
    things=_l("كرة كتاب قبعة وشاح فانوس مفتاح خريطة صدفة حجر ريشة شريط بالون طبل ناي جرس قارب سلة بطانية زر "
              "شمعة ساعة عملة تاج كوب دمية بيضة مروحة علم قفاز بوق جرة إبريق سلم مصباح مرآة قلادة شبكة فرشاة "
              "لؤلؤة حصاة قلم وسادة لعبة حبل شراع بذرة مزلجة ملعقة نجمة تمثال سيف خيمة تذكرة قطار مظلة مزهرية "
              "كمان عربة صفارة بوصلة دفتر رسالة منظار كنز صندوق هدية دراجة حقيبة زجاجة لوحة خاتم سوار"),
    places=_l("غابة مرج نهر@عند بحيرة@عند تل@على جبل@على وادي قرية مدينة سوق حديقة بستان مزرعة حظيرة شاطئ@على "
              "ميناء جزيرة كهف جسر@على قلعة برج مكتبة مدرسة بركة@عند حقل صحراء مستنقع شلال@عند منارة@عند مخبز "
              "مطبخ قبو محطة متحف ملعب سيرك واحة"),
    homes=_l("جحر كوخ عش بيت وكر خيمة طاحونة منارة مغارة"),
    flaw=_l("كسول عنيد متسرع خجول ثرثار مشاغب غيور جبان"),
    trait=_l("شجاع فضولي خجول ذكي لطيف مرح حذر هادئ صبور كريم مجتهد نشيط مهذب طيب ظريف كسول متواضع شقي فخور"),
    adj=_l("صغير كبير قديم جديد لامع ذهبي فضي سحري سري مخفي جميل غريب رائع ناعم دافئ ثقيل خفيف طويل عريض "
           "عميق ملون خشبي زجاجي نادر ثمين هادئ عتيق مشهور خاص مخطط لطيف عجيب ضخم براق غامض أنيق مدهش"),
    col=_l("أحمر/حمراء أزرق/زرقاء أخضر/خضراء أصفر/صفراء أبيض/بيضاء أسود/سوداء بني/بنية رمادي/رمادية "
           "برتقالي/برتقالية وردي/وردية بنفسجي/بنفسجية ذهبي/ذهبية فضي/فضية"),
    feel_good=_l("سعيد فرح فخور مسرور هادئ ممتن مرتاح متحمس مبتهج مطمئن"),
    feel_bad=_l("حزين خائف قلق متعب وحيد جائع غاضب مرتبك منزعج يائس"),
    act=_l("اللعب بالكرة, الغناء, الرقص تحت المطر, بناء القلاع من الرمل, جمع الأصداف, تسلق الأشجار, رسم الصور, "
           "قراءة القصص, خبز الكعك, عد النجوم, مشاهدة الغيوم, مطاردة الفراشات, القفز في البرك, قطف الأزهار, "
           "تطيير الطائرات الورقية, ركوب الدراجة, قرع الطبل, صنع القوارب الورقية, زرع البذور, "
           "السباحة في البحيرة, البحث عن الكنوز, رسم الخرائط, العزف على الناي, إطعام البط, "
           "النوم تحت الشمس, تعلم كلمات جديدة, الاستماع إلى العصافير"),
    food=_l("العسل, التوت, التفاح, الجزر, الخبز, الجبن, الحساء, الكعك, الكمثرى, البرقوق, الجوز, الفطائر, "
            "المربى, الحليب, الشاي, العنب, الكرز, الخوخ, الذرة, البازلاء, الأرز, المعكرونة, البرتقال, الموز, "
            "البطيخ, الفراولة, الزبدة, البيض, البسكويت, الفطر, البطاطا, التمر, التين, اللوز, الزيتون, "
            "الطماطم, الخيار, اللبن"),
    sights=_l("أزهار أشجار فراشات غيوم عصافير صخور أصداف أوراق جداول نجوم تلال بيوت طواحين خراف أبقار ورود "
              "طيور نخيل سنابل أعشاب"),
    smell=_l("الصنوبر, المطر, الورد, الخبز الطازج, العسل, العشب المبلل, النعناع, الياسمين, البحر, القرفة"),
    sound=_l("زقزقة العصافير, نقيق الضفادع, خرير الماء, صوت جرس بعيد, صوت طبل بعيد, ضحكة صغيرة, طنين النحل, "
             "حفيف الأوراق, صفير الريح, غناء جميلا, نباح كلب بعيد, صرير باب قديم"),
    weather=_l("كانت الشمس دافئة ومشرقة., هبت ريح باردة بين الأشجار., بدأ مطر خفيف يتساقط., "
               "كانت السماء زرقاء صافية., مرت غيوم بيضاء ببطء., كانت العصافير تغني فوق الأغصان., "
               "تساقطت ندف الثلج في الهواء., ظهر قمر كبير ومستدير فوق التلال., ظهر قوس قزح بعد المطر., "
               "كان الضباب يغطي الماء."),
    time=_l("في صباح أحد الأيام, في صباح مشمس, في مساء بارد, في يوم من أيام الربيع, في ليلة صيفية, "
            "في عصر يوم خريفي, في يوم عاصف, في صباح ضبابي, في يوم الجمعة"),
    say=_l("قال/قالت همس/همست صاح/صاحت نادى/نادت ضحك/ضحكت هتف/هتفت"),
    lesson=_l("الأصدقاء يجعلون الطريق أقصر, طلب المساعدة ليس عيبا, الشجاعة هي أن نحاول رغم الخوف, "
              "الفرح يكبر حين نتقاسمه, الخطوات الصغيرة توصلنا بعيدا, اللطف يعود دائما إلى صاحبه, "
              "الصبر نوع من السحر, لكل مشكلة حلا"),
    beats=dict(
        intro=["كان يا ما كان، في قديم الزمان، {K} {trait:K} اسم[K:ه|ها] {A}، [K:يعيش|تعيش] {W.loc}.",
               "{W.loc} [K:عاش|عاشت] {K} [K:صغير|صغيرة] اسم[K:ه|ها] {A}.",
               "{time}، [A:استيقظ|استيقظت] {A} مبكرا في {Q.def}.",
               "منذ زمن بعيد، {W.loc}، [K:عاش|عاشت] {K} {trait:K} [K:يدعى|تدعى] {A}."],
        desc=["[A:كان|كانت] {A} [A:يحب|تحب] {act}.",
              "{A} {trait:A}، لكن[A:ه|ها] أحيانا {flaw:A} قليلا.",
              "[A:كان|كانت] {A} [A:يحب|تحب] أكل {food} كل (صباح|مساء|يوم).",
              "كان الجميع {W.loc} يعرفون {A}، لأن[A:ه|ها] [A:كان يضحك|كانت تضحك] كثيرا.",
              "عندما كان المطر يهطل، [A:كان|كانت] {A} [A:يبقى|تبقى] في البيت."],
        home=["كان ل{A} {Q} [Q:صغير|صغيرة] ودافئ[Q:|ة]، وحوله {sights} كثيرة.",
              "في الليل، [A:كان ينام|كانت تنام] {A} في {Q.def} تحت بطانية {col:f}."],
        want=["{time}، [A:أراد|أرادت] {A} أن [A:يجد|تجد] {T} {adj:T}.",
              "{time}، [A:سمع|سمعت] {A} عن {T} {adj:T} [T:مخبأ|مخبأة] {P.loc}.",
              "[A:كان|كانت] {A} [A:يحلم|تحلم] ب{T} {col:T}.",
              "{time}، [A:قال|قالت] {A}: «اليوم سأجد {T} {adj:T}!»"],
        reason=["[A:أراد|أرادت] أن [A:يهدي|تهدي][T:ه|ها] إلى (أم|جد|عم|خال)[A:ه|ها].",
                "لم ير أحد {W.loc} شيئا مثله من قبل."],
        friend=["[B:أفضل صديق|أفضل صديقة] ل{A} [B:هو|هي] {F} {trait:F} اسم[F:ه|ها] {B}.",
                "في الطريق، [A:التقى|التقت] {A} ب{F.def} {B}."],
        say_want=["[A:قال|قالت] {A}: «يا {B}، أريد أن أجد {T} {adj:T}! هل [B:تأتي|تأتين] معي؟»",
                  "[A:صاح|صاحت] {A}: «هيا بنا {P.dir}! يقولون إن هناك {T} {adj:T}.»",
                  "[A:سأل|سألت] {A} {B}: «هل [B:تساعدني|تساعدينني]؟ أنا أبحث عن {T}.»"],
        reply=["[B:قال|قالت] {B}: «بالطبع! أنا أحب المغامرات.»",
               "[B:ابتسم|ابتسمت] {B} و{say:B}: «نعم، لنذهب معا.»",
               "{say:B} {B}: «أنا [B:خائف|خائفة] قليلا، لكنني سأذهب معك.»"],
        travel=["وهكذا [A:انطلق|انطلقت] {A} و{B} {P.dir}.",
                "مشى الصديقان وقتا طويلا. {weather}",
                "في البداية وصلا إلى {places.def}، حيث كانت {sights} في كل مكان.",
                "عبرا جسرا خشبيا وصعدا تلا عاليا.",
                "كان الطريق {P.dir} طويلا، لكنهما لم يتعبا."],
        sight=["كانت هناك {sights} و{sights} في كل مكان.",
               "{weather}",
               "كانت رائحة {smell} تملأ المكان.",
               "من بعيد، سمعا {sound}."],
        event=["توقفا ليستريحا وأكلا بعض {food}.",
               "[B:حكى|حكت] {B} قصة مضحكة، ف[A:ضحك|ضحكت] {A} كثيرا.",
               "[A:وجد|وجدت] {A} {things} على جانب الطريق.",
               "غنيا أغنية عن {sights} و{food}."],
        feel_bad=["{A} {feel_bad:A} جدا.",
                  "[A:جلس|جلست] {A} على حجر و[A:بدأ|بدأت] [A:يبكي|تبكي].",
                  "[A:شعر|شعرت] {A} بالحزن، و{B} {feel_bad:B} أيضا."],
        say_worry=["[A:قال|قالت] {A}: «ماذا سنفعل الآن؟»",
                   "[B:قال|قالت] {B}: «لا [A:تستسلم|تستسلمي]، هناك دائما طريقة.»",
                   "[A:همس|همست] {A}: «لن نجد {T.def} أبدا.»"],
        helper=["في تلك اللحظة، [H:مر|مرت] {H} [H:طيب|طيبة].",
                "لحسن الحظ، [H:كان|كانت] {H.def} [H:يعيش|تعيش] قريبا من هناك.",
                "فجأة سمعا صوتا. [H:كان|كانت] {H.def} قد [H:رأى|رأت] كل شيء."],
        say_help=["[H:قال|قالت] {H.def}: «لا تقلقا، سأساعدكما.»",
                  "[A:قال|قالت] {A} ل{H.def}: «أرجوك ساعدنا، نحن نحتاج إلى {T.def}.»",
                  "[H:سأل|سألت] {H.def}: «ما الأمر يا صغيري؟» ف[A:حكى|حكت] {A} القصة كلها."],
        get=["أخيرا، [A:أمسك|أمسكت] {A} {T.def} بين يدي[A:ه|ها].",
             "[A:صاح|صاحت] {A} و{B}: «لقد نجحنا!»",
             "[T:كان|كانت] {T.def} أجمل مما [A:تخيل|تخيلت] {A}."],
        ret=["ثم [A:عاد|عادت] {A} و{B} إلى البيت معا عند غروب الشمس.",
             "[A:شكر|شكرت] {A} {H.def}، ثم عاد الصديقان إلى البيت.",
             "في طريق العودة، تحدثا عن مغامرتهما وضحكا كثيرا."],
        feel_good=["{A} {feel_good:A} جدا.",
                   "في تلك الليلة، [A:نام|نامت] {A} و[A:هو يبتسم|هي تبتسم]."],
        moral=["[A:تعلم|تعلمت] {A} أن {lesson}.",
               "ومنذ ذلك اليوم، أصبح {A} و{B} أفضل صديقين.",
               "وهكذا انتهت الحكاية."]),
    problem=[("لكن {T.def} [T:كان عالقا|كانت عالقة] في أعلى شجرة عالية.",
              "[H:تسلق|تسلقت] {H.def} الشجرة و[H:أنزل|أنزلت][T:ه|ها] بحذر."),
             ("لكن نهرا واسعا كان يفصلهما عن {T.def}.",
              "[H:أراهما|أرتهما] {H.def} حجارة في الماء، فقفزا عليها واحدة بعد الأخرى."),
             ("لكن {T.def} [T:كان|كانت] داخل صندوق قديم مقفل، ولم يكن مع أحد مفتاح.",
              "[H:وجد|وجدت] {H.def} مفتاحا صغيرا تحت حجر، فانفتح الصندوق."),
             ("فجأة تجمعت غيوم سوداء وبدأت عاصفة قوية.",
              "[H:دعاهما|دعتهما] {H.def} إلى بيت[H:ه|ها] حتى انتهت العاصفة."),
             ("لكن المكان كان مظلما جدا، ولم يستطيعا رؤية أي شيء.",
              "[H:أحضر|أحضرت] {H.def} فانوسا، فرأيا {T.def} [T:يلمع|تلمع] قريبا منهما."),
             ("ثم [A:تعثر|تعثرت] {A} و[A:أضاع|أضاعت] الخريطة.",
              "[H:كان|كانت] {H.def} [H:يعرف|تعرف] الطريق، ف[H:قادهما|قادتهما] عبر درب سري."),
             ("لكن {T.def} [T:سقط|سقطت] في حفرة عميقة.",
              "[H:أنزل|أنزلت] {H.def} حبلا، ف[A:سحب|سحبت] {A} {T.def} إلى الأعلى."),
             ("لكن {B} [B:تعب|تعبت] و[B:جلس|جلست] على الأرض.",
              "[H:أعطاهما|أعطتهما] {H.def} بعض {food}، فاستعاد {B} قوت[B:ه|ها]."),
             ("لكن ضبابا كثيفا غطى كل شيء، فضلا الطريق.",
              "[H:غنى|غنت] {H.def} بصوت عال، فتبعا الصوت حتى خرجا من الضباب.")],
)


# ----------------------------------------------------------------------------------------------- Hindi
def _noun_hin(e, kind):
    e, _, post = e.partition('@')
    w, _, g = e.partition(':')
    g = 'mf'.index(g) if g else int(w.endswith('ी'))
    obl = w if g else ' '.join(x[:-1] + 'े' if x.endswith('ा') else x for x in w.split())  # बगीचा -> बगीचे में
    return {'': w, 'obl': obl, 'loc': f"{obl} {post or 'में'}", 'dir': f"{obl} की ओर", 'g': g}


def _hi_fem(x):
    for m, f in (('या', 'ई'), ('आ', 'ई'), ('ा', 'ी')):  # गया -> गई, हुआ -> हुई, बड़ा -> बड़ी
        if x.endswith(m):
            return x[:-len(m)] + f
    return x


HIN = dict(
    noun=_noun_hin, sep=' ', agree=lambda w, g: ' '.join(_hi_fem(x) for x in w.split()) if g == 1 else w,
    names_m=_l("राहुल अर्जुन रोहन आदित्य कबीर विवेक अमन मोहन गोपाल राजू सोनू मनु वीर ईशान यश आरव नील देव अंकित समीर"),
    names_f=_l("सीता गीता प्रिया अनु मीरा राधा नेहा पूजा दीया रिया तारा इरा आशा कविता सुमन माया लता किरण गौरी नीलू"),
    syll=_l("मी रा नी का लू टी सो पा गु चा दा वि ना रु बे ला"),
    kinds=_l("लोमड़ी खरगोश उल्लू भालू चूहा बिल्ली कुत्ता बत्तख:f मेंढक साही:f गिलहरी हिरन भेड़िया बकरी मेमना टट्टू "
             "घोड़ा गधा गाय:f मुर्गी हंस कछुआ घोंघा तितली मधुमक्खी चींटी मकड़ी झींगुर चमगादड़ कौआ गौरैया:f तोता "
             "पेंगुइन ऊदबिलाव छिपकली केकड़ा मछली व्हेल:f डॉल्फ़िन:f पिल्ला बाघ शेर हाथी:m जिराफ़ ज़ेबरा बंदर "
             "पांडा ऊँट मोर मैना:f कोयल:f जुगनू ड्रैगन भैंस:f याक"),
    helpers=_l("बूढ़ा उल्लू, किसान, मछुआरा, अध्यापिका:f, दादी, नानी, नाविक, चित्रकार, डॉक्टर, माली:m, दुकानदार, "
               "दर्ज़ी:m, बढ़ई, डाकिया, चरवाहा, लोहार, परी, जादूगर, रानी, राजकुमारी, सिपाही:m, रसोइया, "
               "संगीतकार, लकड़हारा, कुम्हार, बुनकर, बूढ़ा कछुआ"),
    things=_l("गेंद:f किताब:f टोपी दुपट्टा लालटेन:f चाबी नक्शा सीप:f पत्थर पंख रिबन गुब्बारा ढोल बाँसुरी घंटी "
              "नाव:f टोकरी कंबल बटन मोमबत्ती घड़ी सिक्का मुकुट प्याला गुड़िया:f अंडा पंखा झंडा दस्ताना वीणा:f "
              "दीपक आईना हार जाल मोती:m कंकड़ पेंसिल:f तकिया पहेली अँगूठी रस्सी बीज चम्मच तारा मूर्ति:f "
              "तलवार:f दूरबीन:f तंबू टिकट खिलौना रेलगाड़ी छाता फूलदान गाड़ी सीटी कम्पास डायरी चिट्ठी टॉर्च:f "
              "झूला चुंबक डिब्बा पोटली ख़ज़ाना संदूक तोहफ़ा साइकिल:f थैला बोतल:f तस्वीर:f पतंग:f"),
    places=_l("जंगल, मैदान, नदी@के किनारे, झील:f@के किनारे, पहाड़ी@पर, पहाड़@पर, घाटी, गाँव, शहर, बाज़ार, बगीचा, "
              "खेत, खलिहान, समुद्र तट@पर, बंदरगाह, द्वीप@पर, गुफ़ा:f, पुल@पर, किला, मीनार:f, पुस्तकालय, स्कूल, "
              "पार्क, तालाब@के किनारे, रेगिस्तान, दलदल, झरना@के पास, बेकरी, रसोई, अटारी, तहखाना, "
              "स्टेशन@पर, चिड़ियाघर, संग्रहालय, मेला, सर्कस, बाग़"),
    homes=_l("बिल घोंसला झोपड़ी गुफ़ा:f घर कुटिया:f मांद:f तंबू"),
    flaw=_l("आलसी ज़िद्दी लापरवाह डरपोक शरारती भुलक्कड़ बातूनी चिड़चिड़ा उतावला शर्मीला"),
    trait=_l("बहादुर जिज्ञासु शर्मीला चतुर दयालु हँसमुख चंचल सावधान शांत नटखट मेहनती ईमानदार समझदार आलसी भोला "
             "प्यारा होशियार फुर्तीला ज़िद्दी मिलनसार"),
    adj=_l("छोटा बड़ा पुराना नया चमकीला सुनहरा जादुई गुप्त सुंदर अजीब अद्भुत मुलायम भारी हल्का लंबा ऊँचा चौड़ा "
           "गहरा रंगीन गोल अनमोल दुर्लभ नाज़ुक प्राचीन प्रसिद्ध ख़ास धारीदार चित्तीदार नुकीला प्यारा रहस्यमय "
           "शानदार निराला"),
    col=_l("लाल नीला हरा पीला नारंगी बैंगनी गुलाबी भूरा काला सफ़ेद सलेटी सुनहरा रुपहला आसमानी"),
    feel_good=_l("खुश, प्रसन्न, शांत, आभारी, उत्साहित, संतुष्ट, निश्चिंत, गर्व से भरा"),
    feel_bad=_l("उदास, परेशान, अकेला, भूखा, नाराज़, दुखी, चिंतित, डरा हुआ, थका हुआ, घबराया हुआ"),
    act=_l("लुका-छिपी खेलना, गाने गाना, बारिश में नाचना, रेत के महल बनाना, सीपियाँ इकट्ठा करना, पेड़ों पर चढ़ना, "
           "तस्वीरें बनाना, कहानियाँ पढ़ना, तारे गिनना, बादलों को देखना, तितलियों के पीछे भागना, "
           "पोखरों में कूदना, फूल चुनना, पतंग उड़ाना, साइकिल चलाना, ढोल बजाना, चुटकुले सुनाना, "
           "काग़ज़ की नाव बनाना, बीज बोना, झील में तैरना, ख़ज़ाना ढूँढना, बाँसुरी बजाना, "
           "बत्तखों को दाना खिलाना, धूप में सोना, नए शब्द सीखना"),
    food=_l("शहद, जामुन, सेब, गाजर, रोटी, पनीर, सूप, बिस्कुट, केक, खीर, नाशपाती, मेवे, पकौड़े, जलेबी, लड्डू, "
            "दूध, चाय, नींबू पानी, अंगूर, आड़ू, भुट्टा, मटर, चावल, संतरे, केले, तरबूज़, मक्खन, मशरूम, आलू, "
            "खजूर, अंजीर, बादाम, मूंगफली, खिचड़ी, दाल, समोसे, पराठे, हलवा, आम, पपीता"),
    sights=_l("फूल पेड़ पत्थर बादल तारे पंख कंकड़ पत्ते झरने पहाड़ मशरूम घोंसले खेत पौधे बाँस कमल मोर तोते कबूतर "
              "सूरजमुखी"),
    smell=_l("चमेली, गुलाब, ताज़ी रोटी, शहद, गीली मिट्टी, पुदीना, बारिश, आम, इलायची, चंदन, घास"),
    sound=_l("चिड़ियों, घंटी, ढोल, मेंढकों, झरने, हवा, बाँसुरी, किसी के हँसने, बहते पानी"),
    weather=_l("धूप खिली हुई थी और हवा गुनगुनी थी।, पेड़ों के बीच ठंडी हवा चल रही थी।, हल्की-हल्की बारिश होने लगी।, "
               "आसमान साफ़ और नीला था।, रुई जैसे बादल धीरे-धीरे तैर रहे थे।, हर झाड़ी में चिड़ियाँ गा रही थीं।, "
               "हवा में बर्फ़ के फाहे नाच रहे थे।, पहाड़ियों के ऊपर बड़ा-सा गोल चाँद निकला।, "
               "बारिश के बाद इंद्रधनुष निकल आया।, पानी के ऊपर धुंध छाई हुई थी।"),
    time=_l("एक सुबह, एक धूप भरी सुबह, एक बरसाती दोपहर, वसंत के एक दिन, सर्दियों की एक ठंडी शाम, "
            "गर्मियों की एक रात, पतझड़ की एक दोपहर, एक कोहरे भरी सुबह, एक तूफ़ानी दिन, एक रविवार को"),
    say=_l("बोला, चिल्लाया, फुसफुसाया, चहका, बुदबुदाया, हँसकर बोला, धीरे से बोला, ज़ोर से बोला"),
    lesson=_l("दोस्तों के साथ हर रास्ता छोटा लगता है, मदद माँगने में कोई बुराई नहीं है, "
              "हिम्मत का मतलब है डर के बावजूद कोशिश करना, ख़ुशी बाँटने से बढ़ती है, "
              "छोटे-छोटे क़दम बहुत दूर तक ले जाते हैं, दया हमेशा लौटकर आती है, धीरज भी एक तरह का जादू है, "
              "हर मुश्किल का कोई न कोई हल होता है"),
    beats=dict(
        intro=["एक बार की बात है, {W.loc} {A} नाम [K:का|की] एक {trait:K} {K} [K:रहता था|रहती थी]।",
               "बहुत समय पहले, {W.loc} एक {K} [K:रहता था|रहती थी]। उसका नाम {A} था।",
               "{time} {A} {Q.loc} जल्दी [A:जागा|जागी]।",
               "{W.loc} एक {trait:K} {K} [K:रहता था|रहती थी], जिसका नाम {A} था।"],
        desc=["{A} को {act} बहुत पसंद था।",
              "{A} बहुत {trait:A} [A:था|थी]।",
              "{A} {trait:A} [A:था|थी], पर कभी-कभी थोड़[A:ा|ी] {flaw:A} भी हो [A:जाता था|जाती थी]।",
              "{A} को {food} खाना बहुत अच्छा लगता था।",
              "{W.loc} सब लोग {A} को जानते थे।",
              "बारिश के दिनों में {A} घर पर [A:रहता|रहती] और (तस्वीरें बना|कहानियाँ पढ़|गाने गा)[A:ता|ती]।"],
        home=["{A} [Q:का|की] {Q} छोट[Q:ा|ी] और आरामदायक [Q:था|थी]।",
              "रात को {A} {Q.loc} एक {col:m} कंबल ओढ़कर [A:सोता था|सोती थी]।"],
        want=["{time} {A} ने सोचा कि [A:वह एक {adj:T} {T} ढूँढेगा|वह एक {adj:T} {T} ढूँढेगी]।",
              "{A} को सबसे ज़्यादा एक {col:T} {T} चाहिए [T:था|थी]।",
              "{time} {A} ने सुना कि {P.loc} एक {adj:T} {T} [T:छिपा हुआ|छिपी हुई] है।",
              "{A} रोज़ एक {adj:T} {T} के सपने [A:देखता था|देखती थी]।"],
        reason=["वह उसे अपनी (माँ|दादी|नानी|बहन) को तोहफ़े में देना [A:चाहता था|चाहती थी]।",
                "{W.loc} किसी ने भी ऐसी चीज़ पहले कभी नहीं देखी थी।"],
        friend=["{A} [B:का सबसे अच्छा दोस्त|की सबसे अच्छी सहेली] {B} नाम [F:का|की] एक {trait:F} {F} [B:था|थी]।",
                "रास्ते में उसे {B} [B:मिला|मिली], जो एक {F} [B:था|थी]।"],
        say_want=["{A} ने कहा, \"{B}, मैं एक {T} ढूँढना [A:चाहता|चाहती] हूँ! क्या तुम मेरे साथ [B:चलोगे|चलोगी]?\"",
                  "{A} {say:A}, \"चलो {P.dir} चलें! सुना है वहाँ एक {adj:T} {T} है।\"",
                  "{A} ने {B} से पूछा, \"क्या तुम मेरी मदद [B:करोगे|करोगी]? मैं एक {T} ढूँढ [A:रहा|रही] हूँ।\""],
        reply=["{B} {say:B}, \"ज़रूर! मुझे रोमांच बहुत पसंद है।\"",
               "{B} [B:मुस्कुराया|मुस्कुराई] और [B:बोला|बोली], \"हाँ, चलो साथ चलते हैं।\"",
               "{B} {say:B}, \"मैं [B:थोड़ा|थोड़ी] {feel_bad:B} हूँ, पर मैं तुम्हारे साथ [B:चलूँगा|चलूँगी]।\""],
        travel=["फिर {A} और {B} {P.dir} चल पड़े।",
                "दोनों दोस्त बहुत देर तक चलते रहे। {weather}",
                "पहले वे एक {places.obl} के पास पहुँचे, जहाँ हर तरफ़ {sights} थे।",
                "उन्होंने एक (पुराना|लकड़ी का|टूटा-फूटा|लंबा|झूलता हुआ) पुल पार किया और एक ऊँची पहाड़ी पर चढ़े।"],
        sight=["चारों तरफ़ {sights} और {sights} थे।",
               "{weather}",
               "हवा में {smell} की ख़ुशबू थी।",
               "दूर से {sound} की आवाज़ सुनाई दी।"],
        event=["वे आराम करने के लिए रुके और साथ बैठकर खाना खाया।",
               "{B} अपने साथ {food} और {food} [B:लाया था|लाई थी]।",
               "{B} ने एक मज़ेदार कहानी सुनाई, और {A} ख़ूब [A:हँसा|हँसी]।",
               "{A} को रास्ते में कुछ चमकता हुआ दिखा।"],
        feel_bad=["{A} बहुत {feel_bad:A} [A:था|थी]।",
                  "{A} एक पत्थर पर बैठकर रोने [A:लगा|लगी]।",
                  "{A} का दिल भारी हो गया, और {B} भी {feel_bad:B} [B:था|थी]।"],
        say_worry=["{A} ने कहा, \"अब हम क्या करें?\"",
                   "{B} {say:B}, \"हिम्मत मत हारो। कोई न कोई रास्ता ज़रूर निकलेगा।\"",
                   "{A} ने धीरे से कहा, \"हमें {T} कभी नहीं [T:मिलेगा|मिलेगी]।\""],
        helper=["तभी वहाँ से एक {H} [H:गुज़रा|गुज़री]।",
                "सौभाग्य से पास में ही एक {H} [H:रहता था|रहती थी]।",
                "अचानक उन्हें एक आवाज़ सुनाई दी। वह एक {H} [H:था|थी], जिसने सब कुछ देखा था।"],
        say_help=["{H.obl} ने कहा, \"चिंता मत करो, मैं तुम्हारी मदद [H:करूँगा|करूँगी]।\"",
                  "{A} ने {H.obl} से कहा, \"कृपया हमारी मदद कीजिए। हमें {T} चाहिए।\"",
                  "{H.obl} ने पूछा, \"क्या हुआ, बच्चो?\" {A} ने पूरी कहानी सुनाई।"],
        get=["आख़िरकार {A} ने {T} अपने हाथों में ले [T:लिया|ली]।",
             "{A} और {B} ख़ुशी से चिल्लाए, \"हमने कर दिखाया!\"",
             "{T} उसकी सोच से भी ज़्यादा (सुंदर|अद्भुत|शानदार) [T:था|थी]।"],
        ret=["फिर {A} और {B} सूरज ढलते-ढलते घर लौट आए।",
             "उन्होंने {H.obl} को धन्यवाद दिया और घर वापस चले गए।",
             "घर लौटते हुए वे अपने सफ़र की बातें करते रहे।"],
        feel_good=["{A} बहुत {feel_good:A} [A:था|थी]।",
                   "उस रात {A} मुस्कुराते हुए सो [A:गया|गई]।"],
        moral=["{A} ने सीखा कि {lesson}।",
               "उस दिन से {A} और {B} पक्के दोस्त बन गए।",
               "और इस तरह कहानी ख़त्म हुई।"]),
    problem=[("लेकिन {T} एक ऊँचे पेड़ पर [T:अटका हुआ था|अटकी हुई थी]।",
              "{H} पेड़ पर [H:चढ़ा|चढ़ी] और {T} नीचे ले [H:आया|आई]।"),
             ("लेकिन रास्ते में एक चौड़ी नदी थी।",
              "{H.obl} ने उन्हें पानी में पत्थर दिखाए, और वे एक-एक करके उस पार कूद गए।"),
             ("लेकिन {T} एक पुराने संदूक में बंद [T:था|थी], और किसी के पास चाबी नहीं थी।",
              "{H.obl} को एक पत्थर के नीचे छोटी-सी चाबी मिली, और संदूक खुल गया।"),
             ("अचानक काले बादल घिर आए और ज़ोर का तूफ़ान आ गया।",
              "{H.obl} ने उन्हें अपने घर में तब तक बिठाया, जब तक तूफ़ान थम नहीं गया।"),
             ("लेकिन इतना अँधेरा था कि कुछ भी दिखाई नहीं दे रहा था।",
              "{H} एक लालटेन ले [H:आया|आई], और जल्द ही उन्हें {T} [T:चमकता हुआ दिखा|चमकती हुई दिखी]।"),
             ("तभी {A} ठोकर खाकर गिर [A:पड़ा|पड़ी] और नक्शा खो गया।",
              "{H.obl} को रास्ता पता था, और वह उन्हें एक गुप्त पगडंडी से [H:ले गया|ले गई]।"),
             ("लेकिन {T} एक गहरे गड्ढे में गिर [T:गया था|गई थी]।",
              "{H.obl} ने एक रस्सी नीचे डाली, और {A} ने {T} ऊपर खींच [T:लिया|ली]।"),
             ("लेकिन {B} थक [B:गया|गई] और ज़मीन पर बैठ [B:गया|गई]।",
              "{H.obl} ने उन्हें थोड़ा {food} दिया, और जल्द ही {B} में फिर से ताक़त आ गई।")],
)


LANG_DATA = {'eng': ENG, 'deu_Latn': DEU, 'spa_Latn': SPA, 'fra_Latn': FRA, 'rus_Cyrl': RUS, 'cmn_Hani': CMN,
             'arb_Arab': ARB, 'hin_Deva': HIN}
