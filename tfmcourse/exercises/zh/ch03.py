"""Chinese versions of the messages of ``tfmcourse.exercises.ch03`` (multi-head attention)."""

HINTS = {
    # split_heads
    "The features are split in the wrong order: you used (d h), which deals the features out to the "
    "heads like cards (feature 0 to head 0, feature 1 to head 1, ...). Head i must get one contiguous "
    "block, features i*d_head .. (i+1)*d_head - 1: rearrange(x, 'b s (h d) -> b h s d', h=num_heads).": "特征拆分的顺序错了：你用的是 (d h)，它像发牌一样把特征轮流分给各个头（特征 0 给头 0，特征 1 给头 1，……）。"
    "头 i 必须得到连续的一块，即第 i*d_head .. (i+1)*d_head - 1 个特征：rearrange(x, 'b s (h d) -> b h s d', h=num_heads)。",
    "You split the last axis into (heads, d_head) but did not move the heads axis: the result is "
    "(batch, seq, heads, d_head). Swap seq and heads (x.transpose(1, 2)), or use "
    "rearrange(x, 'b s (h d) -> b h s d', h=num_heads).": "你把最后一个维度拆成了 (heads, d_head)，却没有移动头这个维度：结果是 (batch, seq, heads, d_head)。"
    "请交换 seq 和 heads（x.transpose(1, 2)），或者用 rearrange(x, 'b s (h d) -> b h s d', h=num_heads)。",
    "You reshaped (batch, seq, d_model) straight to (batch, heads, seq, d_head): the shape is right but "
    "reshape keeps the memory order, so positions and heads get mixed up. Reshape to "
    "(batch, seq, heads, d_head) first, then transpose(1, 2) (or use rearrange, which does both).": "你把 (batch, seq, d_model) 直接 reshape 成了 (batch, heads, seq, d_head)：形状是对的，但 reshape 保持内存中的顺序，"
    "于是位置和头被混在了一起。请先 reshape 成 (batch, seq, heads, d_head)，再 transpose(1, 2)"
    "（或者用 rearrange，它一次做完这两步）。",
    "You made heads of width num_heads: num_heads is the number of heads, each of width "
    "d_head = d_model // num_heads (rearrange(..., h=num_heads), not d=num_heads).": "你构造的头宽度为 num_heads：num_heads 是头的个数，每个头的宽度是 d_head = d_model // num_heads"
    "（rearrange(..., h=num_heads)，而不是 d=num_heads）。",
    "Use rearrange(x, 'b s (h d) -> b h s d', h=num_heads).": "请用 rearrange(x, 'b s (h d) -> b h s d', h=num_heads)。",
    # merge_heads
    "You reshaped (batch, heads, seq, d_head) straight to (batch, seq, heads * d_head): the shape is "
    "right but the values of different positions are mixed. Move the heads axis next to d_head first "
    "(x.transpose(1, 2)), then reshape, or use rearrange(x, 'b h s d -> b s (h d)').": "你把 (batch, heads, seq, d_head) 直接 reshape 成了 (batch, seq, heads * d_head)：形状是对的，"
    "但不同位置的值被混在了一起。请先把头这个维度移到 d_head 旁边（x.transpose(1, 2)），再 reshape，"
    "或者用 rearrange(x, 'b h s d -> b s (h d)')。",
    "The heads are merged in the wrong order: (d h) interleaves them. Head 0's d_head features come "
    "first, then head 1's, ...: rearrange(x, 'b h s d -> b s (h d)'), the inverse of split_heads.": "各个头合并的顺序错了：(d h) 把它们交错排列。应先放头 0 的 d_head 个特征，然后是头 1 的，……："
    "rearrange(x, 'b h s d -> b s (h d)')，即 split_heads 的逆运算。",
    "You stacked the heads along the sequence axis: the output must keep seq and put the heads side by "
    "side in the features, (batch, seq, heads * d_head).": "你沿序列维度堆叠了各个头：输出必须保留 seq，并把各个头在特征维度上并排放置，即 (batch, seq, heads * d_head)。",
    "You averaged or summed the heads: they are concatenated, so the output is heads * d_head wide and "
    "keeps each head's features separately.": "你把各个头取了平均或求了和：它们应该拼接起来，所以输出宽度为 heads * d_head，并分别保留每个头的特征。",
    "Use rearrange(x, 'b h s d -> b s (h d)').": "请用 rearrange(x, 'b h s d -> b s (h d)')。",
    # multi_head_attention
    "The scores are scaled by 1/sqrt(d_model); each head compares vectors of width d_head = d_model // "
    "num_heads, so the scale is 1/sqrt(d_head).": "分数用 1/sqrt(d_model) 缩放了；每个头比较的是宽度为 d_head = d_model // num_heads 的向量，"
    "所以缩放因子是 1/sqrt(d_head)。",
    "The scores are not scaled: divide each head's q @ k^T by sqrt(d_head).": "分数没有缩放：把每个头的 q @ k^T 除以 sqrt(d_head)。",
    "You forgot the output projection: after merging the heads, multiply by w_o, which mixes the "
    "heads' outputs.": "你忘了输出投影：合并各个头之后，要乘以 w_o，它把各个头的输出混合起来。",
    "Your answer is single-head attention with width d_model: split q, k and v into num_heads heads "
    "before the attention and merge them after.": "你的答案是宽度为 d_model 的单头注意力：在注意力之前把 q、k 和 v 拆分成 num_heads 个头，之后再把它们合并。",
    "The heads get interleaved features: split with (h d), 'b s (h d) -> b h s d', so that head i uses "
    "the contiguous block i*d_head .. (i+1)*d_head - 1 of q, k and v.": "各个头得到的是交错的特征：请用 (h d) 拆分，即 'b s (h d) -> b h s d'，使头 i 用的是 q、k 和 v 中"
    "连续的一块 i*d_head .. (i+1)*d_head - 1。",
    "The attention in each head is right, but the heads are merged wrongly: use "
    "rearrange(o, 'b h s d -> b s (h d)') (or transpose(1, 2) then reshape) before w_o.": "每个头中的注意力是对的，但各个头合并错了：在乘 w_o 之前用 rearrange(o, 'b h s d -> b s (h d)')"
    "（或者先 transpose(1, 2) 再 reshape）。",
    "The mask sense is inverted: True means 'may attend'; fill the scores with -inf where it is False.": "掩码的含义用反了：True 表示“可以关注”；要在掩码为 False 的位置把分数填成 -inf。",
    "Your output has NaN rows because the mask sense is inverted: True means 'may attend', so fill the "
    "scores with -inf where the mask is False (scores.masked_fill(~mask, float('-inf'))). With the sense "
    "inverted, a query whose keys were all allowed has none left, and softmax over a row of -inf is "
    "0/0 = NaN.": "你的输出中有整行的 NaN，因为掩码的含义用反了：True 表示“可以关注”，所以要在掩码为 False 的位置把分数填成 -inf"
    "（scores.masked_fill(~mask, float('-inf'))）。含义反过来之后，一个本来所有键都允许关注的查询就一个键都不剩了，"
    "而对一行 -inf 做 softmax 就是 0/0 = NaN。",
    "Your output contains NaN where the reference has none. A softmax over a row whose scores are all "
    "-inf gives NaN: check which entries you fill with -inf (True in the mask means 'may attend').": "你的输出在参考答案没有 NaN 的地方出现了 NaN。对分数全为 -inf 的一行做 softmax 会得到 NaN："
    "检查一下你把哪些元素填成了 -inf（掩码中的 True 表示“可以关注”）。",
    "The mask is ignored: fill the scores with -inf where the mask is False before the softmax.": "掩码被忽略了：在 softmax 之前，要在掩码为 False 的位置把分数填成 -inf。",
    "The softmax runs over the wrong axis: it runs over the keys, the last axis (dim=-1).": "softmax 用错了维度：它应该在键上，即最后一个维度（dim=-1）上计算。",
    "Return only the output tensor (batch, seq, d_model), not a tuple.": "只返回输出张量 (batch, seq, d_model)，不要返回元组。",
    "Project (x @ w_q, ...), split into heads, attend in each head with scale "
    "1/sqrt(d_head) and the mask, merge the heads, multiply by w_o.": "先做投影（x @ w_q, ...），再拆分成多个头，在每个头中以缩放因子 1/sqrt(d_head) 并带着掩码做注意力，"
    "然后合并各个头，乘以 w_o。",
    # the `what` / `where` of the messages
    "split_heads(x of shape {shape}, num_heads={h})": "split_heads（x 的形状为 {shape}，num_heads={h}）",
    "merge_heads(x of shape {shape})": "merge_heads（x 的形状为 {shape}）",
    "on the case with {name} (x {shape}, num_heads={h})": "在用例“{name}”上（x {shape}，num_heads={h}）",
    # after ch02's "attention returned a {kind} on the case " took the words "on the case"
    "with {name} (x {shape}, num_heads={h})": "“{name}”（x 的形状为 {shape}，num_heads={h}）",
    "multi_head_attention returned a {kind} ": "multi_head_attention 返回的是 {kind}",
    # the names of the cases
    "no mask": "无掩码",
    "a causal mask (seq, seq)": "因果掩码 (seq, seq)",
    "a padding mask (batch, 1, 1, seq)": "填充掩码 (batch, 1, 1, seq)",
    # passed()
    " cases, causal and padding masks included": " 个用例，包括因果掩码和填充掩码",
}
