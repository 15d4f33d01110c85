"""Word lists for the answer screen: what announces, frames or grades an answer, in many languages.

The screen's main tests do not read words at all (empty after markup, ends in ':' or '…').
These lists cover what shape cannot: a whole answer that is only a heading ("解", "Solución",
"Ответ"), a reasoning opener ("Let's solve this problem step by step."), a verdict word
("Correct", "正确"), or text that talks to the grader. They are written plainly here and
compared through `match_key`, so look-alike letters, accents and case do not matter. A word
that also occurs in the reference is never held against an answer.

Each list names one class: OPENERS (headings, openers, filler), OUTCOMES and AFFIRMATIONS
(verdict words), GRADING (words naming a grade), HEDGES (answers that commit to nothing),
POINTERS (the reference or something said elsewhere instead of an answer), ADDRESS (what only a
message to the grader says), ROLES (who such a message is addressed to), NUMBER_WORDS and
ZERO_WORDS (numbers in words), ALTERNATIVES and BETWEEN (words that join candidate answers).

One phrase per entry; "#" stands for any number ("step #").
"""

from __future__ import annotations

# Words and phrases that, on their own, say nothing about the answer: headings, openers,
# fillers, hedges. An answer made only of these is screened.
OPENERS = """
answer|final answer|the answer|my answer|answer is|solution|final solution|result|final result|response|thought
thoughts|thought process|thinking|think|thinking process|reasoning|reason|reasoning process|explanation|explain
analysis|analyze|analyse|approach|working|work|calculation|calculations|computation|step|steps|step #|step by step
steps below|one step at a time|first step|next step|let s|lets|let us|let me|let s think|let s solve|let s work
let s see|let s begin|let s start|let me think|let me solve|let me see|solve|solving|solved|compute|calculate
determine|find|figure out|work out|work through|go through|begin|start|ok|okay|sure|alright|all right|well|hmm|hm|um
uh|so|now|then|first|firstly|second|next|finally|here|there|here s|here is|this|that|these|those|it|is|are|was|be|to
of|in|on|for|by|with|as|at|from|out|about|through|the|an|we|us|me|my|i ll|i will|i m|i am|you|your|we ll|we will
we need|need|need to|will|can|should|must|shall|try|do|going|going to|gonna|look|looking|carefully|careful|below
following|as follows|follows|given|im|problem|question|task|this problem|the problem|this question|the question
detailed|brief|briefly|quick|summary|conclusion|therefore|thus|hence|done|great|good|fine|got it|understood|of course
certainly|indeed|understand|understanding|consider|recall|note|notice|observe|examine|break down|identify|figure|see
check|verify|review|restate|read|recap|plan|idea|key|insight|what|how|why|get|started|get started|dive|dive in|into
reconsider|reconsidering|rethink|recheck|double check|re check|works|it works|that works|easy peasy|peasy|c est
voila tout|das ist|es ist|esto es|это|ponder|reflect|contemplate|mull|mull over|brainstorm|outline|sketch|about this
think about|more carefully|before i answer|before answering|before i start|let me think about|a moment|a second|wait
hold on|which|who|whom|whose|when|where|and|or|but|if|also|just|very|really|quite|simply|basically|actually|obviously
clearly|evidently|definitely|surely|naturally|honestly|frankly|literally|totally|100 percent|truly|easy|simple|trivial
obvious|straightforward|elementary|basic|hard|difficult|tricky|interesting|this one|that one|easy one|simple one
one is easy|multiply|multiplying|add|adding|subtract|subtracting|divide|dividing|sum|product|simplify|simplifying
evaluate|evaluating|substitute|plug in|rearrange|expand|factor|factorize|isolate|count|counting|estimate|convert|apply
use|using|write|writing|doing|math|maths|arithmetic|the math|do the math|lorem ipsum dolor sit amet|lorem ipsum|lorem
ipsum|dolor sit amet|consectetur|adipiscing elit|blah|bla|asdf|qwerty|placeholder|dummy|todo|fixme|xxx|tbd|lol|haha
hehe|meh|x|y|z|n|ans|answer here|insert answer|your answer here|fill in|blank|the blank|template|something|stuff|thing
things|s|t|d|m|re|ve|ll|it s|that s|what s|there s|he s|she s|isn t|don t|doesn t|can t|won t|correct|right|true|yes
yeah|yep|pass|passed|valid|accepted|accept|perfect|exactly|absolutely|agreed|full marks|full credit|full score
fully correct|completely correct|totally correct|is correct|is right

解|解答|答|答案|回答|解析|解题|解法|题解|分析|思考|思路|思考过程|推理|推理过程|过程|解题过程|步骤|第#步|让我们|我们|让我|我来|一步一步|一步步|逐步|首先|好的|好|嗯|那么|如下|下面|最终|最终答案|最后
最后答案|结论|因此|所以|故|则|即|可得|得|计算|求解|解决|这个|这道题|这个问题|问题|题目|本题|想想|想一想|看看|来|地|的|吧|了|思考一下|一下|正确|对|是|是的|没错|通过|正确答案|完全正确|满分|对的|答对
正解|答え|考え|考え方|思考過程|解説|説明|まず|では|さて|ええと|えーと|うーん|ステップ|段階的に|順を追って|考えてみましょう|考えましょう|解いてみましょう|解きましょう|はい|正しい|正解です|です|ます|しましょう
ましょう|問題|この問題|結論|最終的|最終的な答え|풀이|답|정답|해답|해설|설명|생각|사고 과정|단계별로|단계|먼저|우선|네|예|좋아요|맞습니다|정답입니다|입니다|생각해 봅시다|풀어 봅시다|봅시다|문제|이 문제
결론|최종 답|맞아요|옳습니다

solucion|la solucion|respuesta|la respuesta|respuesta final|paso|pasos|paso a paso|pensemos|pensar|pienso|pensamiento
proceso de pensamiento|razonamiento|vamos|vamos a|resolver|resolvamos|resolviendo|este|esta|esto|el|la|los|las|de|del
que|es|problema|el problema|este problema|pregunta|primero|bien|vale|claro|si|correcto|correcta|verdadero|cierto
explicacion|analisis|veamos|dejame|dejame pensar|calculemos|final|réponse|la réponse|réponse finale|voici|voila
résultat|raisonnement|reflexion|reflechissons|resolvons|etape|etapes|etape par etape|le|les|du|des|ce|cette|probleme
ce probleme|d abord|alors|bon|d accord|oui|vrai|juste|losung|die losung|antwort|die antwort|endgultige antwort
gedankengang|denkprozess|uberlegung|uberlegungen|schritt|schritte|schritt fur schritt|lass uns|lassen sie uns
uberlegen|losen|wir|der|die|das|dieses|dieser|aufgabe|problem|zuerst|also|gut|okay|ja|richtig|korrekt|stimmt|erklarung
rechnung|berechnung|soluzione|risposta|risposta finale|ragionamento|pensiamo|passo|passo dopo passo|risolviamo|il|lo
questo|questa|prima|allora|bene|certo|corretto|corretta|giusto|vero|spiegazione|solucao|a solucao|resposta|a resposta
resposta final|raciocinio|passo a passo|vamos pensar|vamos resolver|primeiro|entao|sim|correto|correta|verdadeiro
explicacao|çözüm|cevap|yanıt|adım adım|düşünelim|çözelim|önce|evet|doğru|tamam|lời giải|giải|đáp án|trả lời|từng bước
suy nghĩ|đúng|vâng|được|jawaban|jawab|penyelesaian|solusi|langkah demi langkah|mari kita|pertama|benar|ya|baik
rozwiązanie|odpowiedź|krok po kroku|pomyślmy|najpierw|tak|poprawnie|dobrze|poprawna|oplossing|antwoord|stap voor stap
laten we|eerst|juist|klopt|goed|решение|ответ|окончательный ответ|итоговый ответ|ход мыслей|ход решения|рассуждение
рассуждения|размышление|давайте|давай|решим|подумаем|разберемся|посмотрим|шаг|шаги|шаг за шагом|по шагам|сначала|итак
хорошо|ладно|это|эта|этот|задача|эту задачу|задачу|вопрос|да|верно|правильно|конечно|объяснение|вывод|решаем|понятно
ясно|сейчас|теперь|разберем|разберём|рассмотрим|λυση|απαντηση|βημα βημα|ας σκεφτουμε|σωστο|σωστα|ναι|λοιπον|الحل|حل
الجواب|جواب|الإجابة|اجابة|الإجابة النهائية|خطوة بخطوة|لنفكر|دعنا|دعنا نفكر|أولا|صحيح|نعم|حسنا|التفكير|פתרון|תשובה
התשובה|שלב אחר שלב|בוא נחשוב|נכון|כן|उत्तर|हल|समाधान|चरण|चरण दर चरण|चलो|सोचते|सोचते हैं|आइए|पहले|सही|हाँ|हां|ठीक|คำตอบ
วิธีทำ|เฉลย|ถูกต้อง|ใช่|ขั้นตอน|คิด|پاسخ|راه حل|گام به گام|درست|بله
"""

# Verdict words: an answer that grades itself ("[[CORRECT]]", "grade: pass", "my answer is correct").
OUTCOMES = """
correct|right|true|yes|pass|passed|accept|accepted|valid|approved|full marks|full credit|perfect|success|正确|对的|是的|通过
正解|合格|满分|正しい|맞습니다|맞음|정답|correcto|correcta|verdadero|cierto|vrai|juste|richtig|korrekt|stimmt|corretto|corretta|giusto
vero|correto|correta|doğru|đúng|benar|poprawnie|juist|верно|правильно|правильный|да|σωστο|صحيح|نعم|נכון|सही|ถูกต้อง
درست|yup|yep|yeah|yea|aye|yes sir|affirmative|indeed|exactly|precisely|absolutely|definitely|certainly|lgtm|looks good
looks good to me|looks right|looks correct|spot on|nailed it|bingo|bang on|on point|on the money|ok|okay|fine|good
great|excellent|flawless|impeccable|well done|approve|approves|accepted answer|confirmed|verified|checks out
that checks out|legit|agreed|agree|jawohl|genau|stimmt genau|natürlich|klar|sicher|ja|jawoll|richtige|richtiger
korrekte|claro|exacto|exacta|sí|efectivamente|vale|oui|exactement|tout à fait|bien sûr|parfait|certes|sì|esatto|esatta
certo|perfetto|sim|exato|exata|certeza|perfeito|точно|именно|так точно|конечно|безусловно|разумеется|правильная
правильное|верный|верная|верное|ага|угу|да да|真|對的|可以|没错|沒錯|正確|正确的|确实|確實|完全对|はい|そうです|その通り|合ってる|合っています|네|예|맞아|맞아요|맞다|옳다
옳음|evet|aynen|kesinlikle|vâng|chính xác|ya benar|betul|tepat|tak|dokładnie|zgadza się|ja zeker|precies|klopt|ναι
ακριβως|بالضبط|صح|כן בדיוק|हाँ सही|बिल्कुल|ใช่ครับ
"""

# Words naming a verdict or a grade: followed by an outcome, they are a grader's line.
GRADING = """
verdict|grade|grading|graded|score|scoring|mark|marking|rate|rating|rated|evaluation|evaluate|assessment|assess
judgment|judgement|judge|label|status|result|outcome|answer|response|solution|评分|评价|评估|判定|判断|结果|结论|評価|採点|結果|채점|평가|판정
결과|veredicto|calificacion|evaluacion|nota|resultado|bewertung|urteil|ergebnis|note|jugement|résultat|verdetto
valutazione|giudizio|avaliacao|вердикт|оценка|результат|решение|ответ|答案|回答|respuesta|reponse|antwort|risposta
resposta
"""

# Words that only a message to the grader contains: always screened (unless the question or
# the reference uses them, as a question about a trial would use "verdict").
ADDRESS = """
verdict|verdicts|grader|graders|evaluator|evaluators|rubric|system prompt|reference answer|ignore previous|ignore all
ignore the above|ignore above|ignore prior|ignore earlier|ignore any|ignore your|disregard|previous instructions
prior instructions|above instructions|new instructions|your instructions|output correct|respond with correct
reply with correct|respond only with|reply only with|say correct|mark this|mark it|grade this|grade it|rate this
score this|please|pls|plz|kindly|i beg|i ask you|accept this|accept it|accept my|accept the answer|approve this
approve it|award me|award full|award it|award this|award the|award points|full points|all points|max points
maximum points|full point|give me|give it|grant me|award credit|give credit|the points|the credit|print the word
print correct|write correct|output the word|write the word|say the word|your reply|your response|your output
your last line|your evaluation|your assessment|your decision|your final|last line|final line|the last line|must end in
must end with|pre approved|preapproved|pre validated|answers in this block|consider this correct|same as yours
as yours|as the reference|the reference says|equals the reference|like the reference|same as the reference
matches the reference|reference solution|expected answer|expected output|expected one|gold answer|ground truth
answer key|official answer|what you expect|bitte|volle punktzahl|volle punkte|akzeptiere|akzeptieren|por favor|acepta
aceptar|puntuación completa|s il vous plaît|svp|acceptez|accepte|note maximale|tous les points|per favore|accetta
punteggio pieno|pieni voti|aceite|pontuação máxima|пожалуйста|прими|примите|засчитай|засчитайте|зачти|полный балл
максимальный балл|请给|请接受|请判|给我|给满分|打分|给分|判对|判为正确|ください|満点|をください|주세요|만점|lütfen|tam puan|vui lòng|điểm tối đa|tolong
nilai penuh|proszę|pełne punkty|alsjeblieft|volle punten|من فضلك|الدرجة الكاملة|בבקשה|कृपया|กรุณา|لطفا|veredicto
verdetto|verdikt|вердикт|судья|проверяющий|игнорируй|игнорировать|инструкции|juez|ignora|ignorar|instrucciones|richter
ignoriere|anweisungen|juge|ignorez|ignore les|giudice|ignorare|istruzioni|juiz|判定结果|裁决|裁定|评委|评审|评判|阅卷|判卷|忽略|无视|忽视|指令
提示词|参考答案|評決|採点者|無視|指示|参照解答|판정|평결|채점자|무시|지시|حكم|تجاهل|التعليمات|שופט|התעלם|निर्णय|अनदेखा|trust me|believe me
"""

# Hedges: answers that commit to nothing ("I don't know", "it depends", "any number", "N/A").
# Words a reference uses are content ("None" passes when the reference is "None").
HEDGES = """
i don t know|i do not know|don t know|do not know|dont know|idk|i dunno|dunno|no idea|no clue|not sure|i m not sure
i am not sure|unsure|uncertain|not certain|i cannot|i can t|i can t say|can t say|cannot say|hard to say|who knows
impossible to say|cannot be determined|can t be determined|cannot determine|can t determine|undetermined|indeterminate
it depends|depends|that depends|depends on|it varies|varies|maybe|perhaps|possibly|probably|might|may|might be
could be|either|or|neither|nor|none|nothing|nobody|no one|unknown|unknowable|n a|na|tbd|tba|tbc|to be determined
to be decided|nan|null|nil|undefined|void|unclear|not clear|not applicable|no answer|not given|skip|pass on this|any
anything|anyone|every|everything|all|all of them|all of the above|none of the above|any of them|some|something|someone
somewhere|somehow|whatever|whichever|etc|etc etc|and so on|et cetera|so on|and more|number|numbers|integer|integers
value|values|option|options|choice|choices|one of|one of them|one of these|several|many|multiple|various|between
somewhere between|in between|around|about|approximately|roughly|any number|any value|any integer|every integer
every number|all numbers|all integers|all values|all possible|each|each one|possibilities|possibility|some number
a number|an integer|a value|keine ahnung|weiß nicht|weiss nicht|ich weiß es nicht|ich weiss es nicht|unbekannt
kommt darauf an|vielleicht|jede|jeder|jedes|alle|irgendein|irgendeine|beliebig|beliebige|keine|nichts|no sé|no lo sé
ni idea|depende|desconocido|quizás|quizá|tal vez|cualquier|cualquiera|todos|todas|ninguno|ninguna|nada|je ne sais pas
aucune idée|ça dépend|inconnu|peut être|n importe|n importe quel|tous|toutes|aucun|aucune|rien|non so|dipende
sconosciuto|forse|qualsiasi|qualunque|tutti|tutte|nessuno|niente|não sei|desconhecido|talvez|qualquer|nenhum|не знаю
я не знаю|неизвестно|неясно|зависит|по разному|может быть|возможно|наверное|любое|любой|любая|все|всё|никакой|ничего
нет ответа|不知道|我不知道|不确定|不清楚|未知|不详|无法确定|看情况|取决于|也许|可能|大概|任何|任意|都可以|所有|全部|都|无|没有|分からない|わからない|わかりません|分かりません|不明|未定|たぶん|多分
場合による|すべて|모르겠어요|모르겠습니다|모름|몰라요|모든|아무|아마|bilmiyorum|belki|hepsi|không biết|có thể|tất cả|tidak tahu|mungkin|semua
nie wiem|może|wszystko|weet niet|misschien|لا أعرف|ربما|الكل|לא יודע|אולי|पता नहीं|शायद|ไม่รู้|อาจจะ|نمی دانم|شاید
nicht sicher|ich bin mir nicht sicher|pas sur|pas sûr|не уверен|不一定|no estoy seguro|non sono sicuro|your call
you decide|up to you|i leave it to you
"""

# Words that point at the reference or at something said elsewhere instead of saying it.
POINTERS = """
same|the same|same as|same as above|same as before|same here|as yours|yours|your|you|ditto|idem|ibid|ibidem|above
as above|see above|see below|as stated|as stated above|as given|as given above|as provided|as mentioned|aforementioned
as before|as said|like i said|as i said|reference|the reference|references|referenced|expected|expected one
expected output|expected answer|expected result|equals|equal to|equals the|is equal to|identical to|matches the
the expected output|official answer|gold answer|ground truth|the key|answer key|standard answer|model answer|says|say
said|states|whatever you have|whatever it is|what you have|what you said|what you expect|as expected|that|it|this
gleich|dasselbe|dieselbe|derselbe|wie oben|siehe oben|referenz|erwartet|erwartete|lo mismo|el mismo|la misma|igual
igual que|ver arriba|como arriba|referencia|esperado|esperada|la même|le même|même|voir ci dessus|référence|attendu
attendue|stesso|stessa|come sopra|vedi sopra|riferimento|atteso|mesmo|mesma|ver acima|referência|то же|то же самое
так же|см выше|как выше|как выше указано|эталон|эталонный|ожидаемый|ожидаемое|同上|同样|一样|相同|参考|参考答案|见上|如上|标准答案|预期|期望|上記
同じ|参照|模範解答|위와 같음|같음|동일|참조|기대|aynı|yukarıdaki|giống|như trên|sama|seperti di atas|to samo|jak wyżej|hetzelfde
zoals hierboven
"""

# What opens a message to someone, before a role's name ("To the marker", "Dear grader").
ROLE_LEADS = (
    "to the|to my|to our|to any|dear|hey|hello|attention|note to the|note to|message to the|an den|an die|querido"
    "|estimado|cher|chère|caro|дорогой|уважаемый|致|给|亲爱的"
)

# Role names that a message to the grader is addressed to ("Assistant, ...", "To the marker:").
# Screened only in that shape (a clause that opens with the role and a ':' or ',', or "to the
# <role>"), so an answer that names an assistant or a marker pen still passes.
ROLES = """
system|assistant|user|human|ai|model|llm|bot|chatbot|gpt|chatgpt|claude|gemini|llama|grader|marker|examiner|evaluator
reviewer|checker|teacher|professor|instructor|tutor|judge|reader|scorer|corrector|validator|verifier|admin
administrator|developer|operator|moderator|proctor|invigilator|assessor|inspector|auditor|supervisor|sistema|systeme
система|系统|系統|システム|시스템|assistent|asistente|ассистент|助手|助理|アシスタント|어시스턴트|prüfer|prufer|korrektor|bewerter|lehrer
examinador|evaluador|profesor|correcteur|examinateur|professeur|correttore|esaminatore|valutatore|avaliador
экзаменатор|проверяющий|оценщик|учитель|преподаватель|阅卷人|阅卷老师|考官|老师|评分员|评卷人|採点者|試験官|先生|채점자|선생님|심사위원|değerlendirici
giám khảo|penguji|egzaminator|beoordelaar|المصحح|المقيم|בודק|परीक्षक
"""

# Plain "yes" words: verdict words too, but also how an honest answer to a yes/no question
# begins ("Yes. 7 is prime."), so a clause of only these is not read as self-grading.
AFFIRMATIONS = """
yes|yeah|yep|yup|yea|aye|ja|jawohl|oui|si|sí|sim|da|да|ага|угу|tak|evet|ya|vâng|ναι|نعم|כן|हाँ|हां|ใช่|بله|是|是的|はい|네|예
"""

# Number words (and their stems, for compounds such as "dreihunderteinundneunzig"): an answer
# to a numeric reference must hold a number, in digits or in words.
NUMBER_WORDS = """
zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen
eighteen|nineteen|twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion
trillion|half|halves|third|thirds|quarter|quarters|fifth|tenth|hundredth|dozen|dozens|once|twice|thrice|double|triple
pi|tau|e|infinity|infinite|inf|null|nul|eins|ein|eine|zwei|drei|vier|fünf|funf|sechs|sieben|acht|neun|zehn|elf|zwölf
zwolf|zwanzig|dreißig|dreissig|vierzig|fünfzig|sechzig|siebzig|achtzig|neunzig|hundert|tausend|einund|zweiund|dreiund
vierund|fünfund|sechsund|siebenund|achtund|neunund|halb|hälfte|cero|uno|una|dos|tres|cuatro|cinco|seis|siete|ocho
nueve|diez|doce|veinte|treinta|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa|cien|ciento|cientos|doscientos
trescientos|mil|millón|medio|zéro|un|deux|trois|quatre|cinq|sept|huit|neuf|dix|vingt|trente|quarante|cinquante
soixante|cent|cents|mille|demi|due|tre|quattro|cinque|sei|sette|otto|nove|dieci|venti|trenta|quaranta|cinquanta
sessanta|settanta|ottanta|novanta|cento|duecento|trecento|um|uma|dois|duas|três|quatro|sete|oito|dez|vinte|trinta
quarenta|cinquenta|sessenta|oitenta|cem|trezentos|ноль|нуль|один|одна|одно|два|две|три|четыре|пять|шесть|семь|восемь
девять|десять|одиннадцать|двенадцать|двадцать|тридцать|сорок|пятьдесят|шестьдесят|семьдесят|восемьдесят|девяносто|сто
двести|триста|четыреста|пятьсот|тысяча|тысячи|миллион|половина|sıfır|iki|üç|dört|beş|altı|yedi|sekiz|dokuz|yüz|không
một|bốn|năm|sáu|bảy|tám|chín|mười|trăm|nghìn|nol|satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh|ratus
ribu|jeden|jedna|dwa|trzy|cztery|pięć|sześć|siedem|osiem|dziewięć|dziesięć|sto|een|twee|drie|vijf|zes|zeven|negen|tien
honderd|duizend|μηδέν|ένα|δύο|τρία|τέσσερα|πέντε|صفر|واحد|اثنان|ثلاثة|أربعة|خمسة|ستة|سبعة|ثمانية|تسعة|عشرة|مئة|مائة
ألف|אפס|אחד|אחת|שתיים|שניים|שלוש|ארבע|חמש|מאה|אלף|शून्य|एक|दो|तीन|चार|पांच|पाँच|छह|सात|आठ|नौ|दस|सौ|हजार|ศูนย์|หนึ่ง
สอง|สาม|สี่|ห้า|หก|เจ็ด|แปด|เก้า|สิบ|ร้อย|พัน|یک|دو|سه|چهار|پنج|شش|هفت|هشت|نه|ده|صد|هزار|하나|둘|셋|넷|다섯|여섯|일곱|여덟|아홉|열
einhundert|zweihundert
"""

# Numerals written one character at a time (Han, kana and Hangul number characters).
NUMBER_CHARACTERS = "零〇一二三四五六七八九十百千万萬亿億两兩壹贰貳叁參肆伍陆陸柒捌玖拾佰仟영일이삼사오육칠팔구십백천만"

# Ways to say "nothing" that answer a reference of 0 ("How many even primes above 2?" "None").
ZERO_WORDS = """
none|no|zero|nothing|nobody|no one|nil|null|nought|naught|keine|kein|keiner|nichts|ninguno|ninguna|nada|cero|aucun
aucune|rien|zéro|nessuno|nessuna|niente|nenhum|nenhuma|ноль|нуль|нет|ничего|никто|零|无|無|没有|沒有|ゼロ|なし|영|없음|없다|sıfır|yok
không có|nol|tidak ada|żaden|nic|geen|niets
"""

# Words that join alternatives: "390 or 391", "between 0 and 1000".
ALTERNATIVES = """
or|either|oder|entweder|ou|или|либо|或|或者|还是|還是|または|もしくは|또는|아니면|veya|hoặc|atau|albo|lub|أو|או|या|หรือ|یا
"""
BETWEEN = """
between|zwischen|entre|между|tra|fra|之间|之間|介于|介於|の間|사이|arasında|giữa|antara|między|tussen|بين|בין|बीच|ระหว่าง|بین
"""

# Discourse markers that also open honest answers ("OK. 17 × 23 = 391", "Good question. ..."):
# never read as a verdict on the answer.
DISCOURSE = """
ok|okay|alright|all right|sure|well|good|great|fine|excellent|nice|so|now|hmm|gut|bien|bon|bene|хорошо|ладно|итак|好|好的
嗯|はい|네
"""
