"""Chinese versions of the messages of ``tfmcourse.exercises.ch09`` (a GPT: causal self-attention, top-k, KV cache)."""

HINTS = {
    (
        "There is no causal mask: every position also looks at the positions after it (the future). Set "
        "the scores of keys j > i to -inf before the softmax (e.g. with torch.ones(seq, seq).tril())."
    ): (
        "没有因果掩码：每个位置也看到了它后面的位置（即未来）。请在 softmax 之前把键 j > i 的分数设为 -inf（例如借助 torch.ones(seq, seq).tril()）。"
    ),
    (
        "The causal mask is inverted: position i must see the keys j <= i (the lower triangle, tril), "
        "and the keys j > i get -inf."
    ): ("因果掩码反了：位置 i 必须看到键 j <= i（下三角，tril），键 j > i 的分数才是 -inf。"),
    (
        "The diagonal is masked too (tril(diagonal=-1)): position i may attend to itself, so keep the "
        "keys j <= i, not only j < i."
    ): (
        "对角线也被遮住了（tril(diagonal=-1)）：位置 i 可以关注它自己，所以要保留键 j <= i，而不只是 j < i。"
    ),
    (
        "The scores are scaled by 1/sqrt(d_model); each head uses 1/sqrt(d_head), d_head = d_model // "
        "num_heads."
    ): ("分数按 1/sqrt(d_model) 缩放了；每个头应使用 1/sqrt(d_head)，其中 d_head = d_model // num_heads。"),
    "The scores are not scaled: divide q @ k^T by sqrt(d_head).": "分数没有缩放：把 q @ k^T 除以 sqrt(d_head)。",
    ("The softmax runs over the wrong axis: it normalises over the keys, the last axis (dim=-1)."): (
        "softmax 作用在了错误的维度上：它要在键上归一化，即最后一个维度（dim=-1）。"
    ),
    "The output projection is missing: after merging the heads, multiply by w_o.": "缺少输出投影：合并各个头之后，还要乘以 w_o。",
    (
        "q, k and v are cut out of x @ w_qkv in the wrong way: the columns are [q | k | v], each d_model "
        "wide (GPT-2's c_attn): q, k, v = (x @ w_qkv).split(d_model, dim=-1)."
    ): (
        "从 x @ w_qkv 中切出 q、k、v 的方式不对：各列依次是 [q | k | v]，"
        "每块宽 d_model（即 GPT-2 的 c_attn）：q, k, v = (x @ w_qkv).split(d_model, dim=-1)。"
    ),
    (
        "The heads get interleaved features: split with rearrange(t, 'b s (h d) -> b h s d', "
        "h=num_heads), so that head i uses features i*d_head .. (i+1)*d_head - 1."
    ): (
        "各个头拿到的是交错的特征：请用 rearrange(t, 'b s (h d) -> b h s d', h=num_heads) 拆分，"
        "使第 i 个头使用第 i*d_head .. (i+1)*d_head - 1 个特征。"
    ),
    (
        "Your answer is single-head attention: split q, k and v into num_heads heads and merge them "
        "afterwards."
    ): ("你的答案是单头注意力：要把 q、k 和 v 拆成 num_heads 个头，算完之后再合并。"),
    (
        "The heads are merged without moving the head axis back: the output of the heads is (batch, "
        "heads, seq, d_head), and reshaping it straight to (batch, seq, d_model) mixes positions and "
        "heads. Transpose to (batch, seq, heads, d_head) first, or use rearrange(o, 'b h s d -> b s (h "
        "d)')."
    ): (
        "合并各个头时没有把头这一维移回去：各头的输出形状是 (batch, heads, seq, d_head)，"
        "直接 reshape 成 (batch, seq, d_model) 会把位置和头混在一起。"
        "请先转置成 (batch, seq, heads, d_head)，或者用 rearrange(o, 'b h s d -> b s (h d)')。"
    ),
    (
        "The heads are split without a transpose: reshaping (batch, seq, d_model) straight to (batch, "
        "heads, seq, d_head) mixes positions and heads. Reshape to (batch, seq, heads, d_head) and then "
        "swap the two middle axes, or use rearrange(t, 'b s (h d) -> b h s d', h=num_heads)."
    ): (
        "拆分各个头时没有转置：把 (batch, seq, d_model) 直接 reshape 成 (batch, heads, seq, d_head) 会把位置和头混在一起。"
        "请先 reshape 成 (batch, seq, heads, d_head)，再交换中间的两个维度，"
        "或者用 rearrange(t, 'b s (h d) -> b h s d', h=num_heads)。"
    ),
    " returned a {kind}: return only the output tensor.": " 返回了一个 {kind}：只返回输出张量。",
    (" contains NaN: a query row whose keys are all masked gives softmax(-inf, ..., -inf). "): (
        " 中含有 NaN：如果一个查询行的键全部被遮住，就会得到 softmax(-inf, ..., -inf)。"
    ),
    (
        "Split x @ w_qkv into q | k | v, split heads, scale by 1/sqrt(d_head), mask the future, softmax "
        "over the keys, merge heads, multiply by w_o."
    ): (
        "把 x @ w_qkv 切成 q | k | v，拆分出各个头，按 1/sqrt(d_head) 缩放，"
        "遮住未来，在键上做 softmax，合并各个头，再乘以 w_o。"
    ),
    # top_k_logits
    ("You kept the k *smallest* logits: top-k keeps the k largest (torch.topk(..., largest=True))."): (
        "你保留的是 k 个*最小*的 logits：top-k 保留的是 k 个最大的（torch.topk(..., largest=True)）。"
    ),
    (
        "You kept k + 1 tokens: the k-th largest value itself must be kept, everything strictly below it "
        "removed (keep logits >= the k-th largest, not > the (k+1)-th)."
    ): (
        "你保留了 k + 1 个词元：第 k 大的值本身必须保留，严格小于它的全部去掉（保留 >= 第 k 大值的 logits，"
        "而不是 > 第 k+1 大值的）。"
    ),
    ("You kept only k - 1 tokens: the k-th largest value must be kept too (compare with >=, not >)."): (
        "你只保留了 k - 1 个词元：第 k 大的值也必须保留（用 >= 比较，而不是 >）。"
    ),
    (
        "The removed tokens are set to 0: a logit of 0 still has probability exp(0) / Z > 0 (and it is "
        "even larger than negative logits). Set them to float('-inf') so that softmax gives them exactly "
        "0."
    ): (
        "被去掉的词元被设成了 0：logit 为 0 的词元仍有概率 exp(0) / Z > 0（甚至比负的 logits 还大）"
        "。请把它们设为 float('-inf')，这样 softmax 给它们的概率恰好为 0。"
    ),
    (
        "The top k are taken over the wrong axis: each row (one batch element) keeps its own k largest, "
        "dim=-1."
    ): ("取前 k 个时用错了维度：每一行（一个批次元素）各自保留自己最大的 k 个，即 dim=-1。"),
    ("You returned probabilities: return the logits, unchanged for the k kept tokens and -inf elsewhere."): (
        "你返回的是概率：请返回 logits，保留的 k 个词元的 logits 不变，其余为 -inf。"
    ),
    (
        "The removed tokens are set to a large negative number instead of float('-inf'). The softmax of "
        "it is 0 here, but it is still a finite logit: code downstream that asks which tokens are left "
        "(torch.isfinite, top-p after top-k) counts it as kept, and in float16 it is not even "
        "representable. Set them to float('-inf')."
    ): (
        "被去掉的词元被设成了一个很大的负数，而不是 float('-inf')。在这里它的 softmax 是 0，"
        "但它仍是一个有限的 logit：后续询问还剩哪些词元的代码（torch.isfinite、top-k 之后的 top-p）"
        "会把它算作保留下来的，而且在 float16 中它根本无法表示。请把它们设为 float('-inf')。"
    ),
    (
        "Your function returns an integer or boolean tensor ({dtype}): return the logits themselves, a "
        "floating-point tensor like the input, unchanged for the k kept tokens and float('-inf') "
        "elsewhere (an integer tensor cannot hold -inf; to build the answer, use logits.masked_fill(...) "
        "or torch.where)."
    ): (
        "你的函数返回的是整数或布尔张量（{dtype}）：请返回 logits 本身，即和输入一样的浮点张量，"
        "保留的 k 个词元不变，其余为 float('-inf')（整数张量放不下 -inf；构造答案时请用 logits.masked_fill(...) 或 torch.where）。"
    ),
    ("Nothing was removed: set the logits outside the top k to float('-inf')."): (
        "什么都没有去掉：请把前 k 个之外的 logits 设为 float('-inf')。"
    ),
    (
        "Find the k-th largest value of each row (torch.topk(logits, k, dim=-1)) and set the logits "
        "below it to -inf."
    ): ("找出每一行第 k 大的值（torch.topk(logits, k, dim=-1)），并把小于它的 logits 设为 -inf。"),
    (" is wrong: each row should keep {k} finite logits, yours keep {kept}. "): (
        " 不正确：每一行应保留 {k} 个有限的 logits，你的保留了 {kept} 个。"
    ),
    (
        "The cache is not updated: after the step, cache['k'] and cache['v'] must hold the keys and "
        "values of *every* position so far, the new one appended at the end (cache['k'] = "
        "torch.cat([old, k_new], dim=1))."
    ): (
        "缓存没有更新：这一步之后，cache['k'] 和 cache['v'] 必须存放至今*所有*位置的键和值，"
        "新的追加在末尾（cache['k'] = torch.cat([old, k_new], dim=1)）。"
    ),
    (
        "The cache holds only the newest key and value: store the concatenation of the old ones and the "
        "new one, so that the next step still sees the whole past."
    ): ("缓存里只有最新的键和值：请存放旧的与新的拼接起来的结果，这样下一步仍能看到全部过去。"),
    (
        "The new key and value are put *before* the old ones: append them at the end, "
        "torch.cat([cache['k'], k_new], dim=1), so that cache['k'][:, t] is position t."
    ): (
        "新的键和值被放在了旧的*前面*：请把它们追加在末尾，即 torch.cat([cache['k'], k_new], dim=1)，"
        "使 cache['k'][:, t] 对应位置 t。"
    ),
    (
        "The keys are concatenated along the wrong axis: the cache is (batch, positions, d); append "
        "along the positions axis, dim=1 (not the batch axis 0 or the feature axis -1)."
    ): (
        "键沿着错误的维度拼接了：缓存的形状是 (batch, positions, d)；请沿位置这一维追加，"
        "即 dim=1（不是批次维 0，也不是特征维 -1）。"
    ),
    ("cache['v'] holds the keys (or cache['k'] the values): store k in cache['k'] and v in cache['v']."): (
        "cache['v'] 里放的是键（或者 cache['k'] 里放的是值）：请把 k 存进 cache['k']，把 v 存进 cache['v']。"
    ),
    "The scores are not scaled: divide q @ k^T by sqrt(d).": "分数没有缩放：把 q @ k^T 除以 sqrt(d)。",
    (
        "The new token attends only to the first position: a (1, t+1) causal mask is aligned "
        "bottom-right (the new token is the *last* position and sees everything). With a cache no mask "
        "is needed."
    ): (
        "新词元只关注了第一个位置：(1, t+1) 的因果掩码应当右下对齐（新词元是*最后*一个位置，"
        "能看到所有位置）。有了缓存，就不需要掩码。"
    ),
    (
        "The new token does not attend to itself: its query sees only the keys and values of the earlier "
        "positions. Append the new key and value to the cache first, then attend over all of them "
        "(position t sees the keys 0..t, itself included)."
    ): (
        "新词元没有关注它自己：它的查询只看到了之前各位置的键和值。请先把新的键和值追加到缓存中，再在所有键和值上做注意力（位置 t 看到键 0..t，包括它自己）。"
    ),
    ("The new token attends only to itself: attend over all the cached keys and values plus the new ones."): (
        "新词元只关注了它自己：请在缓存中所有的键和值以及新的键和值上做注意力。"
    ),
    "attention_step at position {t} (batch {b}, d {d})": "attention_step 在位置 {t}（batch {b}，d {d}）",
    ": cache has no tensors 'k' and 'v' after the step. ": "：这一步之后，cache 中没有张量 'k' 和 'v'。",
    ": cache['k'] has shape {got}, expected {want}.": "：cache['k'] 的形状为 {got}，应为 {want}。",
    (": cache['k'] should hold x @ w_k of positions 0..{t}, in order."): (
        "：cache['k'] 应按顺序存放位置 0..{t} 的 x @ w_k。"
    ),
    (": cache['v'] should hold x @ w_v of positions 0..{t}, in order."): (
        "：cache['v'] 应按顺序存放位置 0..{t} 的 x @ w_v。"
    ),
    "the output of ": "输出：",
    (
        "q = x_new @ w_q attends over all the cached keys and values (new ones included) with scores "
        "scaled by 1/sqrt(d)."
    ): ("q = x_new @ w_q 在缓存中所有的键和值（包括新的）上做注意力，分数按 1/sqrt(d) 缩放。"),
    # passed()
    " cases": " 个用例",
    "two sequences fed one position at a time, cache checked at every step": "两个序列，每次输入一个位置，每一步都检查缓存",
}
