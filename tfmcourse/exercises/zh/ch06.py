"""Chinese versions of the messages of ``tfmcourse.exercises.ch06`` (the decoder and the encoder-decoder)."""

HINTS = {
    # tgt_mask
    "The padding id is hard-coded as 0: use the pad_id argument.": "填充 id 被写死成了 0：请使用参数 pad_id。",
    "The mask sense is inverted: True must mean 'may attend' (a past or present, real token), False "
    "'blocked' (torch's nn.Transformer masks use the opposite sense). Negate your mask.": "掩码的含义用反了：True 必须表示“可以关注”（过去或当前的真实词元），"
    "False 表示“被挡住”（torch 的 nn.Transformer 掩码用的是相反的含义）。请把你的掩码取反。",
    "The causal part has the opposite sense: True above the diagonal is torch's 'blocked' convention "
    "(generate_square_subsequent_mask). In this book True means 'may attend': query i may see keys j <= i, "
    "torch.tril.": "因果部分的含义反了：对角线以上为 True 是 torch 的“被挡住”约定（generate_square_subsequent_mask）。"
    "在本书中 True 表示“可以关注”：查询 i 可以看到键 j <= i，即 torch.tril。",
    "The padding part is inverted: it lets the queries see only the padding keys. A key may be attended to "
    "when it is NOT padding: tgt != pad_id.": "填充部分反了：它让查询只能看到填充键。一个键只有在它*不是*填充时才能被关注：tgt != pad_id。",
    "Both parts are in torch's 'True = blocked' sense, combined with &: that is neither mask. Build both in "
    "this book's sense (True = may attend: j <= i, tgt != pad_id) and combine them with &.": "两个部分都用了 torch 的“True 表示被挡住”的含义，再用 & 组合：结果哪个掩码都不是。"
    "请按本书的含义构造两者（True 表示可以关注：j <= i，tgt != pad_id），再用 & 组合。",
    "The causal diagonal is off by one: a position must be allowed to attend to itself (key j == query i), "
    "so use j <= i, i.e. torch.tril with diagonal=0.": "因果对角线错了一位：一个位置必须可以关注它自己（键 j == 查询 i），所以要用 j <= i，"
    "即 diagonal=0 的 torch.tril。",
    "The causal diagonal is off by one: query i may see key i + 1, one token of the future. Use j <= i.": "因果对角线错了一位：查询 i 能看到键 i + 1，即未来的一个词元。请用 j <= i。",
    "The causal part is transposed: query i (a row) may see keys j <= i (the lower triangle, torch.tril), "
    "not j >= i (torch.triu).": "因果部分转置了：查询 i（一行）可以看到键 j <= i（下三角，torch.tril），而不是 j >= i（torch.triu）"
    "。",
    "The padding is applied to the queries (rows) instead of the keys (columns): padding is a property of "
    "the keys, so the pad mask must be shaped (batch, 1, 1, seq) before the &.": "填充被施加在了查询（行）上，而不是键（列）上：填充是键的属性，所以在 & 之前，"
    "填充掩码的形状必须是 (batch, 1, 1, seq)。",
    "Only the keys (columns) should be masked for padding, not the padded queries' rows too: shape the pad "
    "mask (batch, 1, 1, seq).": "只有键（列）应该因填充而被遮住，被填充的查询所在的行不应该："
    "请把填充掩码的形状做成 (batch, 1, 1, seq)。",
    "The padded keys are not masked: combine the causal mask with (tgt != pad_id) on the keys axis.": "被填充的键没有被遮住：请在键的维度上把因果掩码与 (tgt != pad_id) 组合起来。",
    "The causal part is missing: query i must not see keys j > i (the future).": "缺少因果部分：查询 i 不能看到键 j > i（未来）。",
    "make_tgt_mask(tgt of shape {shape}, pad_id={pad_id})": "make_tgt_mask(形状为 {shape} 的 tgt, pad_id={pad_id})",
    " should return a torch.Tensor, but it returned a {kind}.": " 应该返回 torch.Tensor，但它返回了一个 {kind}。",
    " has dtype {dtype}: return a boolean mask (True = may attend), e.g. with comparisons and & rather than "
    "arithmetic.": " 的 dtype 是 {dtype}：请返回布尔掩码（True 表示可以关注），例如用比较运算和 &，而不是算术运算。",
    " has shape {shape}, which does not broadcast correctly against the scores (batch, heads, seq, seq): "
    "its first axis would line up with the heads. Add a heads axis of size 1: (batch, 1, seq, seq).": " 的形状为 {shape}，它不能正确地广播到分数 (batch, heads, seq, seq) 上："
    "它的第一个维度会与头的维度对齐。请加一个大小为 1 的头维度：(batch, 1, seq, seq)。",
    " is wrong: it is mostly the opposite of the right mask. True must mean 'may attend' (j <= i and tgt[b, "
    "j] != pad_id), False 'blocked'.": " 不正确：它基本上是正确掩码的反面。True 必须表示“可以关注”（j <= i 且 tgt[b, j] != pad_id），"
    "False 表示“被挡住”。",
    " is wrong, e.g. at [batch {b}, 0, query {q}, key {k}]: got {got}, want {want}. Query i may attend to "
    "key j when j <= i and tgt[b, j] != pad_id.": " 不正确，例如在 [批次 {b}, 0, 查询 {q}, 键 {k}] 处：得到 {got}，应为 {want}。"
    "当 j <= i 且 tgt[b, j] != pad_id 时，查询 i 才可以关注键 j。",
    "causal, padded keys masked, (batch, 1, seq, seq)": "因果，被填充的键已遮住，(batch, 1, seq, seq)",
    # decoder_layer
    "` called the decoder layer itself (layer(...) or one of its methods): that is the answer, not the "
    "exercise. Compute it from the submodules: layer.self_attn, layer.cross_attn, layer.ff, layer.norm1..3 "
    "and layer.dropout1..3.": "` 调用了解码器层本身（layer(...) 或它的某个方法）：那是答案，而不是练习。请用子模块来计算："
    "layer.self_attn、layer.cross_attn、layer.ff、layer.norm1..3 和 layer.dropout1..3。",
    "This is the pre-norm order, x + sublayer(norm(x)). The post-norm layer of the original Transformer "
    "normalises AFTER the residual addition: x = norm(x + sublayer(x)).": "这是前置归一化的顺序，x + sublayer(norm(x))。"
    "原始 Transformer 的后置归一化层是在残差相加*之后*做归一化：x = norm(x + sublayer(x))。",
    "The residual connections are missing: each sublayer's output must be ADDED to its input, x = norm(x + "
    "sublayer(x)), not x = norm(sublayer(x)).": "缺少残差连接：每个子层的输出都必须*加到*它的输入上，x = norm(x + sublayer(x))，"
    "而不是 x = norm(sublayer(x))。",
    "The residual connection around the self-attention is missing: x = norm1(x + self_attn(...)).": "自注意力外面的残差连接缺少了：x = norm1(x + self_attn(...))。",
    "The residual connection around the cross-attention is missing: x = norm2(x + cross_attn(...)).": "交叉注意力外面的残差连接缺少了：x = norm2(x + cross_attn(...))。",
    "The residual connection around the feed-forward network is missing: x = norm3(x + ff(x)).": "前馈网络外面的残差连接缺少了：x = norm3(x + ff(x))。",
    "The self-attention ignores tgt_mask, so every position sees the future. Pass mask=tgt_mask to "
    "layer.self_attn.": "自注意力忽略了 tgt_mask，所以每个位置都能看到未来。请把 mask=tgt_mask 传给 layer.self_attn。",
    "The cross-attention ignores memory_mask, so the decoder looks at the source's padding. Pass "
    "mask=memory_mask to layer.cross_attn.": "交叉注意力忽略了 memory_mask，所以解码器会看到源序列的填充。"
    "请把 mask=memory_mask 传给 layer.cross_attn。",
    "The cross-attention takes its keys and values from x: that is a second self-attention. Keys and values "
    "must come from memory (the encoder's output), queries from x.": "交叉注意力的键和值取自 x：那是第二个自注意力。键和值必须来自 memory（编码器的输出），查询来自 x。",
    "The sublayers are in the wrong order: first the (masked) self-attention, then the cross-attention, "
    "then the feed-forward network.": "子层的顺序错了：先是（带掩码的）自注意力，然后是交叉注意力，最后是前馈网络。",
    "The residual connections are missing and the norms come first: compute x = norm(x + sublayer(x)) for "
    "each sublayer.": "缺少残差连接，而且归一化放在了前面：请对每个子层计算 x = norm(x + sublayer(x))。",
    "Right without dropout, wrong in training mode: the three residual dropouts are missing. Apply "
    "layer.dropout1 to the self-attention's output, layer.dropout2 to the cross-attention's and "
    "layer.dropout3 to the feed-forward network's, before each residual addition: x = norm(x + "
    "dropout(sublayer(x))).": "不用 dropout 时正确，在训练模式下错误：缺少三个残差 dropout。请在每次残差相加之前，"
    "把 layer.dropout1 作用于自注意力的输出，layer.dropout2 作用于交叉注意力的输出，"
    "layer.dropout3 作用于前馈网络的输出：x = norm(x + dropout(sublayer(x)))。",
    "layer.dropout1 is missing: apply it to the self-attention's output before adding x.": "缺少 layer.dropout1：在加上 x 之前，把它作用于自注意力的输出。",
    "layer.dropout2 is missing: apply it to the cross-attention's output before adding x.": "缺少 layer.dropout2：在加上 x 之前，把它作用于交叉注意力的输出。",
    "layer.dropout3 is missing: apply it to the feed-forward network's output before adding x.": "缺少 layer.dropout3：在加上 x 之前，把它作用于前馈网络的输出。",
    "The dropout is applied to the sum x + sublayer(x): it belongs to the sublayer's output only, x = "
    "norm(x + dropout(sublayer(x))), so that the residual path carries x unchanged.": "dropout 被作用在了和 x + sublayer(x) 上：它只属于子层的输出，x = norm(x + dropout(sublayer(x)))，"
    "这样残差通路才能原样传递 x。",
    " returned a tuple: return only the output tensor. (Remember that layer.self_attn(...) returns (out, "
    "weights): take [0].)": " 返回了一个元组：只返回输出张量。（记住 layer.self_attn(...) 返回 (out, weights)：取 [0]。）",
    " in training mode (dropout 0.25)": " 在训练模式下（dropout 0.25）",
    "For each sublayer compute x = norm(x + dropout(sublayer(x))): self-attention (x, x, x, mask=tgt_mask) "
    "with dropout1 and norm1, cross-attention (x, memory, memory, mask=memory_mask) with dropout2 and "
    "norm2, feed-forward with dropout3 and norm3.": "对每个子层计算 x = norm(x + dropout(sublayer(x)))：自注意力 (x, x, x, mask=tgt_mask) 配 dropout1 和"
    " norm1，交叉注意力 (x, memory, memory, mask=memory_mask) 配 dropout2 和 norm2，"
    "前馈网络配 dropout3 和 norm3。",
    "post-norm: self-attention, cross-attention, feed-forward, each with dropout and residual; eval and "
    "training mode": "后置归一化：自注意力、交叉注意力、前馈网络，各带 dropout 和残差；评估模式和训练模式",
    # seq2seq_loss
    "The decoder reads the very tokens it must predict: with the causal mask, position i sees token i and "
    "copies it. Feed tgt[:, :-1] (<bos> y1 .. yn) and predict tgt[:, 1:] (y1 .. yn <eos>), one position "
    "ahead.": "解码器读入的正是它要预测的词元：有了因果掩码，位置 i 能看到词元 i 并直接复制它。"
    "请送入 tgt[:, :-1]（<bos> y1 .. yn），并预测 tgt[:, 1:]（y1 .. yn <eos>），即错开一个位置。",
    "The shift goes the wrong way: the decoder's input starts with <bos>, tgt[:, :-1], and position i must "
    "predict the NEXT token, tgt[:, 1:].": "错位的方向反了：解码器的输入以 <bos> 开头，即 tgt[:, :-1]，位置 i 必须预测*下一个*词元，"
    "即 tgt[:, 1:]。",
    "The target mask has no causal part, so every position sees the later target tokens, the answers. Use "
    "the causal + padding mask of tgt[:, :-1] (make_tgt_mask of section 6.2).": "目标掩码没有因果部分，所以每个位置都能看到后面的目标词元，也就是答案。"
    "请使用 tgt[:, :-1] 的因果 + 填充掩码（6.2 节的 make_tgt_mask）。",
    "No target mask: every position sees the whole target, the answers included. Pass the causal + padding "
    "mask of the decoder's input tgt[:, :-1] (make_tgt_mask of section 6.2).": "没有目标掩码：每个位置都能看到整个目标，包括答案。"
    "请传入解码器输入 tgt[:, :-1] 的因果 + 填充掩码（6.2 节的 make_tgt_mask）。",
    "The source padding is not masked: pass src_mask = (src != pad_id)[:, None, None, :] to the encoder and "
    "the same mask as memory_mask to the decoder's cross-attention.": "源序列的填充没有被遮住：把 src_mask = (src != pad_id)[:, None, None, :] 传给编码器，"
    "并把同一个掩码作为 memory_mask 传给解码器的交叉注意力。",
    "The encoder sees the source padding: pass src_mask = (src != pad_id)[:, None, None, :] as the model's "
    "src_mask (you passed it only as memory_mask).": "编码器看到了源序列的填充：把 src_mask = (src != pad_id)[:, None, None, :] 作为模型的 src_mask 传入"
    "（你只把它作为 memory_mask 传了）。",
    "The cross-attention looks at the source padding: pass the source padding mask as memory_mask too (the "
    "third mask of model(src, tgt_in, src_mask, tgt_mask, memory_mask)).": "交叉注意力看到了源序列的填充：把源序列的填充掩码也作为 memory_mask 传入（model(src, tgt_in, src_mas"
    "k, tgt_mask, memory_mask) 的第三个掩码）。",
    "The padding positions are counted in the loss: their targets are not tokens to learn. Use "
    "F.cross_entropy(..., ignore_index=pad_id) (or average over the positions whose target is not pad_id).": "填充位置被算进了损失：它们的目标不是要学习的词元。请用 F.cross_entropy(..., ignore_index=pad_id)（"
    "或者只在目标不是 pad_id 的位置上取平均）。",
    "Return the mean over the real target tokens, not their sum.": "返回真实目标词元上的平均值，而不是它们的和。",
    "Return one number for the batch: a 0-dimensional tensor, the mean cross entropy.": "为整个批次返回一个数：一个 0 维张量，即平均交叉熵。",
    "The loss does not carry gradients back to the model (.item(), .detach() or torch.no_grad()?): training "
    "calls loss.backward() on it.": "损失没有把梯度传回模型（用了 .item()、.detach() 还是 torch.no_grad()？）："
    "训练时要对它调用 loss.backward()。",
    " returned a {kind}. ": " 返回了一个 {kind}。",
    " returned shape {shape}. ": " 返回的形状为 {shape}。",
    " returned {got}, expected {want}. ": " 返回了 {got}，应为 {want}。",
    "Feed tgt[:, :-1] with the causal + padding mask, the source with its padding mask (also as "
    "memory_mask), and average the cross entropy against tgt[:, 1:] over the targets that are not pad_id.": "把 tgt[:, :-1] 连同因果 + 填充掩码送入解码器，把源序列连同它的填充掩码（也作为 memory_mask）"
    "送入模型，并在目标不是 pad_id 的位置上，对与 tgt[:, 1:] 之间的交叉熵取平均。",
    "shifted target, three masks, padding ignored": "错开一位的目标，三个掩码，忽略填充",
}
