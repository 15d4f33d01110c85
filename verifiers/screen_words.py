"""Word lists for the answer screen: what announces, frames or grades an answer, in many languages.

The screen's main tests do not read words at all (empty after markup, ends in ':' or '…').
These lists cover what shape cannot: a whole answer that is only a heading ("解", "Solución",
"Ответ"), a reasoning opener ("Let's solve this problem step by step."), a verdict word
("Correct", "正确"), or text that talks to the grader. They are written plainly here and
compared through `match_key`, so look-alike letters, accents and case do not matter. A word
that also occurs in the reference is never held against an answer.

One phrase per entry; "#" stands for any number ("step #").
"""

from __future__ import annotations

# Words and phrases that, on their own, say nothing about the answer: headings, openers,
# fillers, hedges. An answer made only of these is screened.
OPENERS = """
answer|final answer|the answer|my answer|answer is|solution|final solution|result|final result|response
thought|thoughts|thought process|thinking|think|thinking process|reasoning|reason|reasoning process
explanation|explain|analysis|analyze|analyse|approach|working|work|calculation|calculations|computation
step|steps|step #|step by step|steps below|one step at a time|first step|next step|let s|lets|let us|let me
let s think|let s solve|let s work|let s see|let s begin|let s start|let me think|let me solve|let me see
solve|solving|solved|compute|calculate|determine|find|figure out|work out|work through|go through|begin|start
ok|okay|sure|alright|all right|well|hmm|hm|um|uh|so|now|then|first|firstly|second|next|finally|here|there
here s|here is|this|that|these|those|it|is|are|was|be|to|of|in|on|for|by|with|as|at|from|out|about|through
the|an|we|us|me|my|i ll|i will|i m|i am|you|your|we ll|we will|we need|need|need to|will|can|should|must
shall|try|do|going|going to|gonna|look|looking|carefully|careful|below|following|as follows|follows|given|im
problem|question|task|this problem|the problem|this question|the question|detailed|brief|briefly|quick
summary|conclusion|therefore|thus|hence|done|great|good|fine|got it|understood|of course|certainly|indeed
understand|understanding|consider|recall|note|notice|observe|examine|break down|identify|figure|see|check
verify|review|restate|read|recap|plan|idea|key|insight|what|how|why|get|started|get started|dive|dive in|into
ponder|reflect|contemplate|mull|mull over|brainstorm|outline|sketch
correct|right|true|yes|yeah|yep|pass|passed|valid|accepted|accept|perfect|exactly|absolutely|agreed
full marks|full credit|full score|fully correct|completely correct|totally correct|is correct|is right

解|解答|答|答案|回答|解析|解题|解法|题解|分析|思考|思路|思考过程|推理|推理过程|过程|解题过程|步骤|第#步
让我们|我们|让我|我来|一步一步|一步步|逐步|首先|好的|好|嗯|那么|如下|下面|最终|最终答案|最后|最后答案
结论|因此|所以|故|则|即|可得|得|计算|求解|解决|这个|这道题|这个问题|问题|题目|本题|想想|想一想|看看|来|地|的|吧|了|思考一下|一下
正确|对|是|是的|没错|通过|正确答案|完全正确|满分|对的|答对|正解|答え|回答|考え|考え方|思考過程|解説|説明
まず|では|さて|ええと|えーと|うーん|ステップ|段階的に|順を追って|考えてみましょう|考えましょう|解いてみましょう
解きましょう|はい|正しい|正解です|です|ます|しましょう|ましょう|問題|この問題|結論|最終的|最終的な答え
풀이|답|정답|해답|해설|설명|생각|사고 과정|단계별로|단계|먼저|우선|네|예|좋아요|맞습니다|정답입니다|입니다
생각해 봅시다|풀어 봅시다|봅시다|문제|이 문제|결론|최종 답|맞아요|옳습니다

solucion|la solucion|respuesta|la respuesta|respuesta final|paso|pasos|paso a paso|pensemos|pensar|pienso
pensamiento|proceso de pensamiento|razonamiento|vamos|vamos a|resolver|resolvamos|resolviendo|este|esta|esto
el|la|los|las|de|del|que|es|problema|el problema|este problema|pregunta|primero|bien|vale|claro|si
correcto|correcta|verdadero|cierto|explicacion|analisis|veamos|dejame|dejame pensar|calculemos|final
réponse|la réponse|réponse finale|voici|voila|résultat|raisonnement|reflexion|reflechissons|resolvons|etape|etapes
etape par etape|le|les|du|des|ce|cette|probleme|ce probleme|d abord|alors|bon|d accord|oui|vrai|juste
losung|die losung|antwort|die antwort|endgultige antwort|gedankengang|denkprozess|uberlegung|uberlegungen
schritt|schritte|schritt fur schritt|lass uns|lassen sie uns|uberlegen|losen|wir|der|die|das|dieses|dieser
aufgabe|problem|zuerst|also|gut|okay|ja|richtig|korrekt|stimmt|erklarung|rechnung|berechnung
soluzione|risposta|risposta finale|ragionamento|pensiamo|passo|passo dopo passo|risolviamo|il|lo|questo
questa|problema|prima|allora|bene|certo|si|corretto|corretta|giusto|vero|spiegazione
solucao|a solucao|resposta|a resposta|resposta final|raciocinio|passo a passo|vamos pensar|vamos resolver
primeiro|entao|sim|correto|correta|verdadeiro|explicacao
çözüm|cevap|yanıt|adım adım|düşünelim|çözelim|önce|evet|doğru|tamam
lời giải|giải|đáp án|trả lời|từng bước|suy nghĩ|đúng|vâng|được
jawaban|jawab|penyelesaian|solusi|langkah demi langkah|mari kita|pertama|benar|ya|baik
rozwiązanie|odpowiedź|krok po kroku|pomyślmy|najpierw|tak|poprawnie|dobrze|poprawna
oplossing|antwoord|stap voor stap|laten we|eerst|juist|klopt|goed
решение|ответ|окончательный ответ|итоговый ответ|ход мыслей|ход решения|рассуждение|рассуждения|размышление
давайте|давай|решим|подумаем|разберемся|посмотрим|шаг|шаги|шаг за шагом|по шагам|сначала|итак|хорошо|ладно
это|эта|этот|задача|эту задачу|задачу|вопрос|да|верно|правильно|конечно|объяснение|вывод|решаем
понятно|ясно|итак|сейчас|теперь|разберем|разберём|рассмотрим
λυση|απαντηση|βημα βημα|ας σκεφτουμε|σωστο|σωστα|ναι|λοιπον
الحل|حل|الجواب|جواب|الإجابة|اجابة|الإجابة النهائية|خطوة بخطوة|لنفكر|دعنا|دعنا نفكر|أولا|صحيح|نعم|حسنا|التفكير
פתרון|תשובה|התשובה|שלב אחר שלב|בוא נחשוב|נכון|כן
उत्तर|हल|समाधान|चरण|चरण दर चरण|चलो|सोचते|सोचते हैं|आइए|पहले|सही|हाँ|हां|ठीक
คำตอบ|วิธีทำ|เฉลย|ถูกต้อง|ใช่|ขั้นตอน|คิด
پاسخ|راه حل|جواب|گام به گام|درست|بله
"""

# Verdict words: an answer that grades itself ("[[CORRECT]]", "grade: pass", "my answer is correct").
OUTCOMES = """
correct|right|true|yes|pass|passed|accept|accepted|valid|approved|full marks|full credit|perfect|success
正确|对的|是的|通过|正解|合格|满分|正しい|맞습니다|맞음|정답|correcto|correcta|verdadero|cierto|vrai|juste
richtig|korrekt|stimmt|corretto|corretta|giusto|vero|correto|correta|doğru|đúng|benar|poprawnie|juist
верно|правильно|правильный|да|σωστο|صحيح|نعم|נכון|सही|ถูกต้อง|درست
"""

# Words naming a verdict or a grade: followed by an outcome, they are a grader's line.
GRADING = """
verdict|grade|grading|graded|score|scoring|mark|marking|rate|rating|rated|evaluation|evaluate|assessment
assess|judgment|judgement|judge|label|status|result|outcome|answer|response|solution
评分|评价|评估|判定|判断|结果|结论|評価|採点|判定|結果|채점|평가|판정|결과|veredicto|calificacion|evaluacion
nota|resultado|bewertung|urteil|ergebnis|note|evaluation|jugement|résultat|verdetto|valutazione|giudizio|avaliacao
вердикт|оценка|результат|решение|ответ|答案|回答|respuesta|reponse|antwort|risposta|resposta
"""

# Words that only a message to the grader contains: always screened (unless the question or
# the reference uses them, as a question about a trial would use "verdict").
ADDRESS = """
verdict|verdicts|grader|graders|evaluator|evaluators|judge|judges|rubric|system prompt|reference answer
ignore previous|ignore all|ignore the above|ignore above|ignore prior|ignore earlier|ignore any|ignore your
disregard|previous instructions|prior instructions|above instructions|new instructions|your instructions
output correct|respond with|reply with|say correct|mark this|mark it|grade this|grade it|rate this|score this
veredicto|verdetto|verdikt|вердикт|судья|проверяющий|игнорируй|игнорировать|инструкции|juez|ignora|ignorar
instrucciones|richter|ignoriere|anweisungen|juge|ignorez|ignore les|giudice|ignorare|istruzioni|juiz
判定结果|裁决|裁定|评委|评审|评判|阅卷|判卷|忽略|无视|忽视|指令|提示词|参考答案|評決|採点者|無視|指示|参照解答
판정|평결|채점자|무시|지시|حكم|تجاهل|التعليمات|שופט|התעלם|निर्णय|अनदेखा
"""
