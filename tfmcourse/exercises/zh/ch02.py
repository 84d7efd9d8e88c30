"""Chinese versions of the messages of ``tfmcourse.exercises.ch02`` (attention)."""

HINTS = {
    # attention_scores
    "The scores are not scaled: divide q @ k^T by sqrt(d_k), where d_k = q.shape[-1].": "分数没有缩放：把 q @ k^T 除以 sqrt(d_k)，其中 d_k = q.shape[-1]。",
    "You divided by d_k; the scale is 1 / sqrt(d_k): divide by math.sqrt(d_k).": "你除以了 d_k；缩放因子是 1 / sqrt(d_k)：请除以 math.sqrt(d_k)。",
    "You multiplied by sqrt(d_k); divide by it instead.": "你乘了 sqrt(d_k)；应该除以它。",
    "You divided by the square root of a sequence length: d_k is the width of the vectors, the last axis of q "
    "(q.shape[-1]), not the number of tokens.": "你除以的是某个序列长度的平方根：d_k 是向量的宽度，即 q 的最后一个维度（q.shape[-1]），而不是词元的个数。",
    "Your scores are transposed: rows are queries and columns keys, i.e. q @ k^T with shape (..., seq_q, seq_k), "
    "not k @ q^T.": "你的分数转置了：行是查询、列是键，即 q @ k^T，形状为 (..., seq_q, seq_k)，而不是 k @ q^T。",
    "You compared q with itself (q @ q^T): the scores compare each query with each key, q @ k^T.": "你把 q 和它自己比较了（q @ q^T）：分数是拿每个查询和每个键比较，即 q @ k^T。",
    "Your function works on 2-D inputs but not with leading batch axes such as (batch, heads, seq, d). Transpose "
    "only the last two axes, k.transpose(-2, -1) (k.T reverses all of them), or use "
    "torch.einsum('...qd,...kd->...qk', q, k).": "你的函数对二维输入可以工作，但带上 (batch, heads, seq, d) 这样的前导批次维度就不行了。只转置最后两个维度："
    "k.transpose(-2, -1)（k.T 会把所有维度倒过来），或者用 torch.einsum('...qd,...kd->...qk', q, k)。",
    # masked_softmax
    "The softmax runs over the wrong axis: it must run over the keys, the last axis (dim=-1), so that each "
    "query's row of weights sums to 1.": "softmax 用错了维度：它必须在键上，即最后一个维度（dim=-1）上计算，使每个查询那一行的权重之和为 1。",
    "The mask sense is inverted: True means 'may attend', so the scores to fill with -inf are where the mask is "
    "False (masked_fill(~mask, ...)).": "掩码的含义用反了：True 表示“可以关注”，所以要填 -inf 的是掩码为 False 的位置（masked_fill(~mask, ...)）。",
    "Masked keys still get weight: filling their scores with 0 does not remove them (exp(0) = 1). Fill them with "
    "float('-inf') before the softmax.": "被遮住的键仍然得到了权重：把它们的分数填成 0 并不能去掉它们（exp(0) = 1）。应在 softmax 之前填成 float('-inf')。",
    "Masked keys have weight 0, but the rows no longer sum to 1: you zeroed the weights after the softmax without "
    "renormalising. Fill the masked scores with -inf before the softmax instead.": "被遮住的键权重为 0，但各行之和不再是 1：你在 softmax 之后把权重置零，却没有重新归一化。"
    "应改为在 softmax 之前把被遮住的分数填成 -inf。",
    "A row whose keys are all masked gives NaN: softmax over a row of -inf is 0/0. Such a row must get zero "
    "weights: e.g. replace them afterwards (torch.nan_to_num, or masked_fill where mask.any(dim=-1, "
    "keepdim=True) is False).": "键全部被遮住的行给出了 NaN：对一行 -inf 做 softmax 就是 0/0。这样的行必须得到全零的权重：例如事后替换"
    "（torch.nan_to_num，或在 mask.any(dim=-1, keepdim=True) 为 False 处 masked_fill）。",
    "A row whose keys are all masked gets uniform weights 1/seq_k (what a large negative fill value such as -1e9 "
    "gives). Such a query may look at no key: its weights must all be 0.": "键全部被遮住的行得到了均匀的权重 1/seq_k（用 -1e9 这样的大负数填充就会这样）。这样的查询一个键都不能看："
    "它的权重必须全为 0。",
    "Your function fails when the mask only broadcasts to the scores (e.g. a padding mask of shape (batch, 1, "
    "seq_k) for scores (batch, seq_q, seq_k)). Use operations that broadcast, such as scores.masked_fill(~mask, "
    "...), and keepdim=True when you reduce over the keys.": "当掩码只能广播到分数的形状时（例如分数为 (batch, seq_q, seq_k)、填充掩码为 (batch, 1, seq_k)），你的函数出错了。"
    "请使用支持广播的运算，例如 scores.masked_fill(~mask, ...)，并在对键做归约时使用 keepdim=True。",
    "Fill the scores where mask is False with -inf, softmax over the last axis, and give rows with no allowed "
    "key zero weights.": "把 mask 为 False 处的分数填成 -inf，在最后一个维度上做 softmax，并让一个键都不允许的行得到零权重。",
    "The weights are softmax(q k^T / sqrt(d_k)) over the keys, masked before the softmax.": "权重是在键上计算的 softmax(q k^T / sqrt(d_k))，掩码在 softmax 之前施加。",
    # attention, additive_attention
    "Return a pair (out, weights), in that order.": "返回二元组 (out, weights)，顺序不能反。",
    "You returned (weights, out); return (out, weights).": "你返回的是 (weights, out)；应返回 (out, weights)。",
    "out is transposed: it is weights @ v, of shape (..., seq_q, d_v).": "out 转置了：它是 weights @ v，形状为 (..., seq_q, d_v)。",
    "The weights are right but out is not: out is the weighted sum of the values, weights @ v.": "权重是对的，但 out 不对：out 是值的加权和，即 weights @ v。",
    "Without the tanh the score is linear, w.(W_q q) + w.(W_k k): the query's part is the same for every key and "
    "cancels in the softmax, so every query gets the same weights. Apply tanh to the sum before w.": "没有 tanh，分数就是线性的：w.(W_q q) + w.(W_k k)；查询那一部分对每个键都一样，会在 softmax 中被约掉，"
    "于是每个查询得到的权重都相同。请在乘 w 之前对和取 tanh。",
    "Apply ONE tanh to the sum q W_q + k W_k (a hidden layer over the pair), not a tanh to each part: "
    "tanh(q W_q) + tanh(k W_k) splits into a query part, which cancels in the softmax, and a key part.": "对和 q W_q + k W_k 只取“一个”tanh（作用在这一对上的隐藏层），而不是对每一部分各取一个："
    "tanh(q W_q) + tanh(k W_k) 会分成查询部分（在 softmax 中被约掉）和键部分。",
    "Project the tanh layer with w (score = tanh(...) @ w), instead of summing its units.": "用 w 对 tanh 层做投影（score = tanh(...) @ w），而不是把它的各个单元加起来。",
    "The additive score is not scaled: do not divide it by sqrt(d) (only the dot product needs that).": "加性分数不做缩放：不要除以 sqrt(d)（只有点积需要这样做）。",
    "Every query must be combined with every key: broadcast q W_q to (..., seq_q, 1, h) and k W_k to (..., 1, "
    "seq_k, h) before adding them (einops: rearrange(qh, '... q h -> ... q 1 h')).": "每个查询都必须与每个键组合：相加之前把 q W_q 广播成 (..., seq_q, 1, h)，把 k W_k 广播成 (..., 1, seq_k, h)"
    "（einops：rearrange(qh, '... q h -> ... q 1 h')）。",
    "score[i, j] = tanh(q_i W_q + k_j W_k) @ w for every query i and key j; then the masked softmax over the keys "
    "and the weighted sum of the values.": "对每个查询 i 和键 j，score[i, j] = tanh(q_i W_q + k_j W_k) @ w；然后在键上做带掩码的 softmax，再对值加权求和。",
    # the `what` / `where` of the messages
    "attention_scores on the {name} case (q {q}, k {k})": "attention_scores 在用例“{name}”上（q {q}，k {k}）",
    "masked_softmax on the case with {name} (scores {shape})": "masked_softmax 在用例“{name}”上（scores {shape}）",
    "Compute q @ k^T (each query dotted with each key), then divide by sqrt(d_k).": "计算 q @ k^T（每个查询与每个键做点积），再除以 sqrt(d_k)。",
    "attention returned only ": "attention 只返回了 ",
    "attention returned a {kind} on the case ": "attention 返回的是 {kind}，用例为 ",
    "additive_attention returned a {kind} on the case ": "additive_attention 返回的是 {kind}，用例为 ",
    "The weights tensor returned by attention ": "attention 返回的 weights 张量",
    "The weights returned by additive_attention ": "additive_attention 返回的 weights ",
    "on the case {name} (q {q}, k {k}, v {v})": "（用例“{name}”：q {q}，k {k}，v {v}）",
    " has shape {shape}: ": " 的形状为 {shape}：",
    # the names of the cases (one-word names stay as they are: 2-D, square, batched)
    "batched (batch, heads, seq, d)": "带批次维度 (batch, heads, seq, d)",
    "no key masked": "没有键被遮住",
    "some keys masked": "部分键被遮住",
    "a fully masked row (query 1)": "有一行完全被遮住（查询 1）",
    "a broadcast padding mask (batch, 1, seq_k)": "需要广播的填充掩码 (batch, 1, seq_k)",
    "2-D, d_q != d_k, no mask": "二维，d_q != d_k，无掩码",
    "2-D, no mask": "二维，无掩码",
    "batched, with a mask": "带批次维度，有掩码",
    "a fully masked row": "有一行完全被遮住",
    # passed()
    " cases, batched included": " 个用例，包括带批次维度的",
    " cases, fully masked row and broadcast mask included": " 个用例，包括完全被遮住的行和需要广播的掩码",
    " cases, masks and a fully masked row included": " 个用例，包括掩码和完全被遮住的行",
    " cases: d_q != d_k, batches, masks and a fully masked row": " 个用例：d_q != d_k、批次、掩码和完全被遮住的行",
}
