"""Chinese versions of the messages of ``tfmcourse.exercises.ch11`` (BERT)."""

HINTS = {
    # masked_self_attention
    "The padding is not masked: the real tokens also attend to the [PAD] positions. Build the mask "
    "ids != pad_id (True = a real key) and set the scores of the padding keys to -inf before the softmax.": "填充没有被遮住：真实词元也关注了 [PAD] 位置。构造掩码 ids != pad_id（True 表示真实的键），"
    "并在 softmax 之前把填充键的分数设为 -inf。",
    "The mask is inverted: a query may attend to the keys where ids != pad_id (the real tokens); the "
    "padding keys get -inf.": "掩码反了：查询可以关注 ids != pad_id 的键（真实词元）；填充键的分数才是 -inf。",
    "The mask hides padding *queries* (rows) instead of padding *keys* (columns): the mask has shape "
    "(batch, 1, seq_k) and broadcasts over the queries; every query, padding included, attends to the real keys.": "掩码遮住的是填充*查询*（行），而不是填充*键*（列）：掩码的形状是 (batch, 1, seq_k)，在查询维度上广播；"
    "每个查询（包括填充位置的查询）都关注真实的键。",
    "The padding scores are set to 0 instead of -inf: exp(0) is not 0, so the padding keys still get "
    "weight. Use masked_fill(~mask, float('-inf')).": "填充的分数被设成了 0 而不是 -inf：exp(0) 不等于 0，所以填充键仍然得到了权重。"
    "请用 masked_fill(~mask, float('-inf'))。",
    "The padding weights are zeroed after the softmax without renormalising: the remaining weights no "
    "longer sum to 1. Mask the scores with -inf *before* the softmax.": "在 softmax 之后才把填充的权重置零，且没有重新归一化：剩下的权重之和不再是 1。请在 softmax *之前*用 -inf 遮住分数。",
    "The scores are not scaled: divide q @ k^T by sqrt(d).": "分数没有缩放：把 q @ k^T 除以 sqrt(d)。",
    "The softmax runs over the wrong axis: each query normalises over the keys, dim=-1.": "softmax 作用在了错误的维度上：每个查询要在键上归一化，即 dim=-1。",
    " returned a {kind}: return only the output tensor.": " 返回了一个 {kind}：只返回输出张量。",
    " contains NaN: a query row whose keys are all -inf gives softmax(-inf, ..., -inf) = NaN.": " 中含有 NaN：如果一个查询行的所有键都是 -inf，softmax(-inf, ..., -inf) = NaN。",
    "Compute q, k, v; scores = q @ k^T / sqrt(d); set the scores of the padding keys to -inf; softmax over "
    "the keys; multiply by v.": "计算 q、k、v；scores = q @ k^T / sqrt(d)；把填充键的分数设为 -inf；在键上做 softmax；再乘以 v。",
    # bert_masking
    "Draw every random number from the `generator` argument (torch.rand(..., generator=generator), "
    "torch.randint(..., generator=generator)): called twice with generators seeded alike, the function "
    "must give the same result.": "所有随机数都要从参数 `generator` 中抽取（torch.rand(..., generator=generator)、"
    "torch.randint(..., generator=generator)）：用种子相同的生成器调用两次，函数必须给出相同的结果。",
    "labels must be -100 (ignored by the loss) at every position that was not picked, and the original "
    "token at the picked ones: the loss is computed on the 15% picked tokens only.": "labels 在每个未被选中的位置上必须是 -100（损失会忽略它），在被选中的位置上是原来的词元："
    "损失只在被选中的 15% 词元上计算。",
    "labels hold the *corrupted* inputs ([MASK] or the random token): they must hold the *original* ids "
    "at the picked positions, what the model has to recover.": "labels 里放的是*被破坏后*的输入（[MASK] 或随机词元）：它们必须在被选中的位置上放*原来*的 id，"
    "也就是模型要还原的东西。",
    "Special tokens were picked ([PAD], [CLS], [SEP], ids < 5): only ordinary tokens (id >= 5) may be "
    "masked, replaced or predicted.": "特殊词元被选中了（[PAD]、[CLS]、[SEP]，即 id < 5）：只有普通词元（id >= 5）可以被遮住、替换或预测。",
    "A token that was not picked (label -100) was changed: only the picked positions may differ from ids.": "一个未被选中的词元（label 为 -100）被改动了：只有被选中的位置可以与 ids 不同。",
    "About 15% of the ordinary tokens must be picked (each with probability p = 0.15).": "普通词元中应有约 15% 被选中（每个以概率 p = 0.15 被选中）。",
    "Every picked token became [MASK]: BERT replaces 80% of them with [MASK], 10% with a random token "
    "and keeps 10% unchanged, so the model cannot rely on seeing [MASK] where it must predict.": "每个被选中的词元都变成了 [MASK]：BERT 把其中 80% 换成 [MASK]、10% 换成随机词元、10% 保持不变，"
    "这样模型就不能指望在需要预测的地方总看到 [MASK]。",
    "The 80/10/10 split is off: of the picked tokens, 80% become [MASK], 10% a random ordinary token and "
    "10% stay unchanged. (Draw one uniform number per token: < 0.8 mask, < 0.9 random, else keep.)": "80/10/10 的比例不对：被选中的词元中，80% 变成 [MASK]，10% 变成随机的普通词元，10% 保持不变。"
    "（为每个词元抽一个均匀随机数：< 0.8 换成 [MASK]，< 0.9 换成随机词元，否则保持不变。）",
    "Some random replacements are special tokens: draw them from the ordinary tokens, "
    "torch.randint(5, vocab_size, ...).": "有些随机替换成了特殊词元：应从普通词元中抽取，即 torch.randint(5, vocab_size, ...)。",
    " must return a pair of tensors (inputs, labels), got {kind}.": " 必须返回一对张量 (inputs, labels)，实际返回的是 {kind}。",
    ": {name} has shape {got}, expected {want}.": "：{name} 的形状为 {got}，应为 {want}。",
    ": {name} has dtype {dtype}; token ids are integers (torch.long).": "：{name} 的 dtype 是 {dtype}；词元 id 应该是整数（torch.long）。",
    " of the ordinary tokens were picked.": " 的普通词元被选中了。",
    " of the picked tokens became [MASK].": " 的被选中词元变成了 [MASK]。",
    ": of the picked tokens {masked} became [MASK], {random} a random token and {kept} stayed.": "：被选中的词元中，{masked} 变成了 [MASK]，{random} 变成了随机词元，{kept} 保持不变。",
    # cls_classifier
    "You averaged the hidden states over the positions: BERT's classifier reads the vector of the first "
    "position, [CLS] (hidden[:, 0]).": "你对各位置的隐藏状态取了平均：BERT 的分类器读取的是第一个位置 [CLS] 的向量（hidden[:, 0]）。",
    "You used the last position: BERT's classifier reads the first position, [CLS] (hidden[:, 0]).": "你用了最后一个位置：BERT 的分类器读取的是第一个位置 [CLS]（hidden[:, 0]）。",
    "The pooler's tanh is missing: logits = classifier(tanh(pooler(hidden[:, 0]))).": "缺少 pooler 的 tanh：logits = classifier(tanh(pooler(hidden[:, 0])))。",
    "The pooler uses tanh, not ReLU: logits = classifier(tanh(pooler(hidden[:, 0]))).": "pooler 用的是 tanh，不是 ReLU：logits = classifier(tanh(pooler(hidden[:, 0])))。",
    "The attention_mask is not passed to bert: the [CLS] vector then depends on the padding. Call "
    "bert(ids, attention_mask).": "没有把 attention_mask 传给 bert：这样 [CLS] 向量就会受填充影响。请调用 bert(ids, attention_mask)。",
    "You returned probabilities (softmax): return the logits; the loss applies the softmax itself.": "你返回的是概率（softmax 之后）：请返回 logits；损失函数自己会做 softmax。",
    "The pooler is skipped: apply pooler and tanh to the [CLS] vector before the classifier.": "跳过了 pooler：在分类器之前，先对 [CLS] 向量应用 pooler 和 tanh。",
    " with padding, attention_mask, pooler, classifier)": "（含填充）, attention_mask, pooler, classifier)",
    "Run bert(ids, attention_mask), take position 0 ([CLS]), then pooler, tanh and classifier.": "运行 bert(ids, attention_mask)，取位置 0（[CLS]），再依次应用 pooler、tanh 和 classifier。",
    "Write it yourself, without {path}: this exercise builds what that method does. (`{fn}` called it.)": "请自己写，不要调用 {path}：这道练习要构建的正是那个方法所做的事。（`{fn}` 调用了它。）",
    # passed()
    " padded batches": " 个填充过的批次",
    "15% picked, 80/10/10, labels and specials checked on two vocabularies": "在两个词表上检查了 15% 的选中率、80/10/10 的比例、labels 和特殊词元",
    "a padded batch through a 2-layer BERT": "一个填充过的批次，经过一个 2 层的 BERT",
}
