"""Chinese versions of the messages of ``tfmcourse.exercises.ch07`` (training a translator)."""

HINTS = {
    # label_smoothed_loss
    "Your loss is the plain cross entropy: the smoothing is not applied. Mix the two terms: "
    "(1 - smoothing) * (-log p[target]) + smoothing * (mean over the vocabulary of -log p).": "你的损失是普通的交叉熵：没有施加平滑。要把两项混合起来："
    "(1 - smoothing) * (-log p[target]) + smoothing * (-log p 在整个词表上的平均)。",
    "Padding positions are counted: positions whose target is pad_id must contribute nothing. Zero their "
    "loss and average over the other positions only.": "填充位置被算进去了：目标为 pad_id 的位置不能对损失有任何贡献。把它们的损失置零，只在其余位置上取平均。",
    "You zeroed the padding positions but divided by the number of all positions: divide by the number "
    "of non-padding targets, (target != pad_id).sum().": "你把填充位置置零了，却除以了全部位置的个数：应除以非填充目标的个数，即 (target != pad_id).sum()。",
    "You spread the smoothing over the vocab - 1 wrong tokens only. In this book (and in PyTorch's "
    "label_smoothing) it is spread over all vocab tokens, the right one included: the smoothing term is "
    "-log_probs.mean(dim=-1).": "你只把平滑分给了 vocab - 1 个错误词元。在本书中（以及 PyTorch 的 label_smoothing 中），平滑分给全部 vocab "
    "个词元，包括正确的那个：平滑项是 -log_probs.mean(dim=-1)。",
    "The smoothing term sums -log p over the vocabulary; it should average it (mean over the last axis), "
    "since each token gets smoothing / vocab of the target probability.": "平滑项对 -log p 在词表上求了和；应该取平均（在最后一个维度上取 mean），因为每个词元分到的目标概率是 "
    "smoothing / vocab。",
    "The two weights are swapped: the right token gets 1 - smoothing, the uniform part gets smoothing.": "两个权重用反了：正确词元得到 1 - smoothing，均匀分布的部分得到 smoothing。",
    "Use log-probabilities (logits.log_softmax(dim=-1)), not probabilities, in the cross entropy.": "交叉熵里要用对数概率（logits.log_softmax(dim=-1)），而不是概率。",
    "Return one number for the whole batch: a 0-dimensional tensor (the mean over the kept positions).": "整个批次返回一个数：一个 0 维张量（在保留的位置上取的平均）。",
    "Your loss does not carry gradients back to the logits (did you call .item(), .detach() or build a new "
    "tensor?). Keep it a tensor computed from the logits.": "你的损失不能把梯度传回 logits（你是否调用了 .item()、.detach()，或者新建了一个张量？）。"
    "让它保持为由 logits 计算出来的张量。",
    "Per position: (1 - smoothing) * -log p[target] + smoothing * mean(-log p); then average over the "
    "non-padding positions.": "每个位置：(1 - smoothing) * -log p[target] + smoothing * mean(-log p)；再在非填充位置上取平均。",
    " returned a {kind}.": " 返回了一个 {kind}。",
    " has shape {shape}.": " 的形状为 {shape}。",
    " is {got} but should be {want}.": " 的结果是 {got}，应为 {want}。",
    " cases, equal to F.cross_entropy(label_smoothing=...)": " 个用例，与 F.cross_entropy(label_smoothing=...) 相等",
    # warmup_lr
    "Missing the factor d_model ** -0.5 in front of the min(...).": "缺少 min(...) 前面的系数 d_model ** -0.5。",
    "Use min(...), not max(...): the schedule is the smaller of the two curves (a rise, then a decay).": "要用 min(...)，而不是 max(...)：调度取两条曲线中较小的那条（先上升，再衰减）。",
    "The values after the warmup are right but not during it: the rising part is step * warmup ** -1.5 "
    "(so that both parts meet at step = warmup).": "预热之后的值是对的，预热期间的却不对：上升部分是 step * warmup ** -1.5（这样两部分恰好在 step = warmup 处相交）。",
    "The values during warmup are right but not after: the decay is step ** -0.5 (1 / sqrt(step)).": "预热期间的值是对的，之后的却不对：衰减部分是 step ** -0.5（即 1 / sqrt(step)）。",
    "Return a number (a Python float): the learning rate at this step.": "返回一个数（Python 的 float）：这一步的学习率。",
    "The rate is d_model**-0.5 * min(step**-0.5, step * warmup**-1.5).": "学习率是 d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)。",
    " steps in {settings} settings": " 个步数，共 {settings} 种设置",
    # greedy
    "Your output starts with <bos>: return only the generated tokens (drop the <bos> you started with).": "你的输出以 <bos> 开头：只返回生成的词元（去掉你开头用的 <bos>）。",
    "A row goes on after its <eos>: once a row has produced <eos>, every later position of that row must be "
    "pad_id (keep a `done` mask and fill the finished rows' new tokens with pad_id).": "有一行在它的 <eos> 之后还在继续：一行一旦生成了 <eos>，这一行后面的每个位置都必须是 pad_id"
    "（维护一个 `done` 掩码，把已结束的行的新词元填成 pad_id）。",
    "Your output is longer than max_len tokens: generate at most max_len tokens per row.": "你的输出超过了 max_len 个词元：每一行最多生成 max_len 个词元。",
    "You stopped before every row had produced <eos> (or reached max_len): stop only when all rows are done.": "还没等每一行都生成 <eos>（或达到 max_len），你就停止了：只有当所有行都结束时才能停止。",
    "Return a (batch, out) tensor of token ids (torch.long).": "返回一个 (batch, out) 的词元 id 张量（torch.long）。",
    "The tokens are not the most probable ones: take the argmax of the *last* position's logits over the "
    "vocabulary, logits[:, -1].argmax(dim=-1).": "这些词元不是概率最大的那些：要在词表上对*最后*一个位置的 logits 取 argmax，即 logits[:, -1].argmax(dim=-1)。",
    "The decoder ran on the prefix without the causal mask: its earlier positions then see the later tokens, "
    "which changes what the last position computes in a decoder of several layers. Pass "
    "causal_mask(ys.shape[1]) as tgt_mask when you feed the whole prefix.": "解码器在前缀上运行时没有用因果掩码：这样前面的位置就能看到后面的词元，而在多层的解码器中，这会改变最后"
    "一个位置的计算结果。喂入整个前缀时，请把 causal_mask(ys.shape[1]) 作为 tgt_mask 传入。",
    "The cross-attention sees the source padding: pass the source padding mask "
    "(src != pad_id)[:, None, None, :] as memory_mask to model.decode (and as src_mask to model.encode).": "交叉注意力看到了源序列的填充：请把源序列的填充掩码 (src != pad_id)[:, None, None, :] 作为 memory_mask "
    "传给 model.decode（并作为 src_mask 传给 model.encode）。",
    "The encoder sees the source padding: pass src_mask = (src != pad_id)[:, None, None, :] to model.encode "
    "too (you passed it only as memory_mask).": "编码器看到了源序列的填充：也要把 src_mask = (src != pad_id)[:, None, None, :] 传给 model.encode"
    "（你只把它作为 memory_mask 传了进去）。",
    "greedy on {name} (src {shape}, max_len={max_len})": "greedy（用例：{name}；src {shape}，max_len={max_len}）",
    "one source": "一个源序列",
    "sources of different lengths": "长度不同的源序列",
    "max_len shorter than the output": "max_len 比输出短",
    " returned {got}.": " 返回了 {got}。",
    " gave {got} but should give {want}.": " 给出的是 {got}，应为 {want}。",
    " cases: stops at <eos>, pads finished rows, respects max_len, uses the masks": " 个用例：在 <eos> 处停止，补齐已结束的行，遵守 max_len，使用了掩码",
    # beam_step
    "You picked the best tokens of each prefix separately. Beam search ranks ALL the extensions together: "
    "scores[:, None] + log_probs is a (k, vocab) table; flatten it and take the beam_size best of the k * vocab "
    "candidates (a good prefix may have several of the best extensions, a bad one none).": "你为每个前缀分别挑选了最好的词元。束搜索是把“所有”扩展放在一起排序：scores[:, None] + log_probs 是一张 "
    "(k, vocab) 的表；把它展平，从 k * vocab 个候选中取最好的 beam_size 个（一个好的前缀可能占据好几个最好的扩展，"
    "一个差的前缀可能一个也没有）。",
    "The candidates are ranked by the next token's log-probability alone: a candidate's score is its prefix's "
    "score plus that log-probability, scores[i] + log_probs[i, token] (the log of the product of the "
    "probabilities).": "候选只按下一个词元的对数概率排序了：一个候选的分数是它的前缀的分数加上这个对数概率，即 "
    "scores[i] + log_probs[i, token]（各概率乘积的对数）。",
    "A candidate that ends in <eos> is finished: it goes to `finished` and is NOT extended further. The new beams "
    "are the beam_size best candidates that do not end in <eos>.": "以 <eos> 结尾的候选已经完成：它进入 `finished`，并且“不再”被扩展。新的束是不以 <eos> 结尾的、"
    "最好的 beam_size 个候选。",
    "A candidate that ends in <eos> among the beam_size best candidates must be returned in `finished` (with "
    "its score), as (prefix + [eos_id], score).": "位于最好的 beam_size 个候选之中、以 <eos> 结尾的候选，必须（连同其分数）放进 `finished` 返回，"
    "写成 (prefix + [eos_id], score)。",
    "Only the <eos> candidates among the beam_size best of all candidates are finished; an <eos> candidate "
    "ranked lower is dropped like any other.": "只有位于全部候选中前 beam_size 名之内的 <eos> 候选才算完成；排名更靠后的 <eos> 候选和其他候选一样被丢弃。",
    "The new beams continue the wrong prefixes: in the flattened (k * vocab) table, index // vocab is the "
    "prefix (the row) and index % vocab the token (the column).": "新的束接在了错误的前缀后面：在展平后的 (k * vocab) 表中，index // vocab 是前缀（行），index % vocab 是词元（列）。",
    "Return the new beams best first (highest score first), as topk does.": "按从好到差的顺序返回新的束（分数最高的在前），和 topk 的顺序一样。",
    "The new scores must be the candidates' scores, prefix score + token log-probability, not the old prefix "
    "scores.": "新的分数必须是候选的分数，即前缀分数 + 词元的对数概率，而不是原来前缀的分数。",
    "Return (new_prefixes, new_scores, finished): a list of beam_size token lists, a (beam_size,) tensor (or "
    "list) of floats, and a list of (tokens, score) pairs.": "返回 (new_prefixes, new_scores, finished)：一个由 beam_size 个词元列表组成的列表，一个 (beam_size,) 的"
    "浮点数张量（或列表），以及一个由 (tokens, score) 二元组组成的列表。",
    "Rank all k * vocab extensions by prefix score + token log-probability; the beam_size best that end in "
    "<eos> are finished, the beam_size best others are the new beams, best first.": "按前缀分数 + 词元对数概率给全部 k * vocab 个扩展排序；前 beam_size 名中以 <eos> 结尾的是完成的假设，"
    "其余候选中最好的 beam_size 个是新的束，按从好到差排列。",
    "beam_step on {name} (beam_size={beam_size})": "beam_step（用例：{name}；beam_size={beam_size}）",
    "the first step (one empty prefix)": "第一步（只有一个空前缀）",
    "a step where an <eos> is among the best": "<eos> 位于最好的候选之中的一步",
    "a step where one prefix is far ahead": "有一个前缀遥遥领先的一步",
    "two prefixes, beam_size 4": "两个前缀，beam_size 为 4",
    " gave beams {beams} with scores {scores} and finished {finished}, but should give beams {want_beams} with "
    "scores {want_scores} and finished {want_finished}.": " 给出的束是 {beams}，分数为 {scores}，完成的假设为 {finished}；应给出束 {want_beams}，分数为 {want_scores}，"
    "完成的假设为 {want_finished}。",
    " steps: all extensions ranked together, <eos> finishes a hypothesis": " 步：所有扩展放在一起排序，<eos> 结束一个假设",
}
