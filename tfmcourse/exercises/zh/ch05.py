"""Chinese versions of the messages of ``tfmcourse.exercises.ch05`` (the encoder block)."""

HINTS = {
    # feed_forward
    "The activation is missing: without it the two linear layers collapse into one linear map. Apply ReLU "
    "to the hidden layer: torch.relu(x @ w1 + b1) @ w2 + b2.": "缺少激活函数：没有它，两个线性层就合并成了一个线性映射。请对隐藏层施加 ReLU："
    "torch.relu(x @ w1 + b1) @ w2 + b2。",
    "The ReLU is applied after the second linear layer: it belongs to the hidden layer, between the two "
    "(relu(x @ w1 + b1) @ w2 + b2), so the output can be negative.": "ReLU 被放在了第二个线性层之后：它属于隐藏层，位于两个线性层之间（relu(x @ w1 + b1) @ w2 + b2），"
    "所以输出可以是负数。",
    "ReLU is applied twice: only the hidden layer gets it, not the output (relu(x @ w1 + b1) @ w2 + b2).": "ReLU 用了两次：只有隐藏层用它，输出不用（relu(x @ w1 + b1) @ w2 + b2）。",
    "You used GELU; this exercise asks for the ReLU of the original Transformer: torch.relu.": "你用了 GELU；这道练习要求的是原始 Transformer 的 ReLU：torch.relu。",
    "The activation is not ReLU: use torch.relu (max(0, z)) on the hidden layer.": "激活函数不是 ReLU：请对隐藏层使用 torch.relu（max(0, z)）。",
    "The first bias b1 is missing: the hidden layer is x @ w1 + b1, before the ReLU.": "缺少第一个偏置 b1：隐藏层是 x @ w1 + b1，在 ReLU 之前。",
    "The second bias b2 is missing: add it after the second matrix product (... @ w2 + b2).": "缺少第二个偏置 b2：在第二次矩阵乘法之后加上它（... @ w2 + b2）。",
    "Both biases are missing: relu(x @ w1 + b1) @ w2 + b2.": "两个偏置都缺少了：relu(x @ w1 + b1) @ w2 + b2。",
    "b1 is added after the ReLU: add it before, relu(x @ w1 + b1).": "b1 是在 ReLU 之后加的：应在之前加，relu(x @ w1 + b1)。",
    "You added the input x to the output: the residual connection belongs to the encoder layer around the "
    "feed-forward network, not to the network itself. Return relu(x @ w1 + b1) @ w2 + b2.": "你把输入 x 加到了输出上：残差连接属于编码器层，绕在前馈网络外面，而不属于前馈网络本身。"
    "请返回 relu(x @ w1 + b1) @ w2 + b2。",
    "Your function is right on (batch, seq, d_model) inputs but not with other leading axes: the network "
    "acts on the last axis only, so use x @ w1 (which broadcasts over any leading axes).": "你的函数对 (batch, seq, d_model) 的输入是对的，但换成别的前导维度就不对了："
    "前馈网络只作用于最后一个维度，所以请用 x @ w1（它可以在任意前导维度上广播）。",
    "Compute relu(x @ w1 + b1) @ w2 + b2.": "请计算 relu(x @ w1 + b1) @ w2 + b2。",
    "feed_forward(x of shape {shape}, w1 {w1}, ...)": "feed_forward(形状为 {shape} 的 x, w1 {w1}, ...)",
    " returned a {kind}: return one tensor of x's shape.": " 返回了一个 {kind}：请返回一个与 x 形状相同的张量。",
    " cases, 2-D to 4-D inputs, a constant row, the built-in refused": " 个用例，二维到四维的输入，一个所有元素都相等的行，不接受内置函数",
    " cases, 2-D to 4-D inputs": " 个用例，二维到四维的输入",
    # pre_norm_encoder_layer
    "This is post-norm: you normalised after adding the residual, norm(x + sublayer(x)). Pre-norm "
    "normalises the sublayer's input and leaves the residual path alone: x = x + sublayer(norm(x)).": "这是后置归一化：你在加上残差之后才做归一化，norm(x + sublayer(x))。"
    "前置归一化是对子层的输入做归一化，残差通路保持不动：x = x + sublayer(norm(x))。",
    "The residual connection is missing: add the sublayer's output to its input, x = x + "
    "self_attn(norm1(x), ...), and the same around the feed-forward network.": "缺少残差连接：把子层的输出加到它的输入上，x = x + self_attn(norm1(x), ...)，前馈网络外面也一样。",
    "The residual connection around the feed-forward network is missing: x = x + ff(norm2(x)).": "前馈网络外面的残差连接缺少了：x = x + ff(norm2(x))。",
    "The residual connection around the self-attention is missing: x = x + self_attn(h, h, h, mask=mask)[0] "
    "with h = norm1(x).": "自注意力外面的残差连接缺少了：x = x + self_attn(h, h, h, mask=mask)[0]，其中 h = norm1(x)。",
    "The LayerNorm is applied to the residual path too: you replaced x by norm1(x) and then added the "
    "sublayer to it. Keep x as it is and normalise only the sublayer's input: h = norm1(x); x = x + "
    "self_attn(h, h, h, mask=mask)[0].": "LayerNorm 也作用到了残差通路上：你把 x 换成了 norm1(x)，再把子层的输出加上去。请保持 x 不变，"
    "只对子层的输入做归一化：h = norm1(x); x = x + self_attn(h, h, h, mask=mask)[0]。",
    "The mask is ignored: pass it to the self-attention, layer.self_attn(h, h, h, mask=mask).": "掩码被忽略了：把它传给自注意力，layer.self_attn(h, h, h, mask=mask)。",
    "The mask sense is inverted: True means 'may attend'; pass the mask as it is, not ~mask.": "掩码的含义用反了：True 表示“可以关注”；请原样传入掩码，而不是 ~mask。",
    "The two LayerNorms are swapped: norm1 goes before the self-attention, norm2 before the feed-forward "
    "network.": "两个 LayerNorm 用反了：norm1 放在自注意力之前，norm2 放在前馈网络之前。",
    "You used the same LayerNorm twice: norm1 before the self-attention, norm2 before the feed-forward "
    "network.": "你把同一个 LayerNorm 用了两次：自注意力之前用 norm1，前馈网络之前用 norm2。",
    "The feed-forward sublayer is missing: after the attention, x = x + layer.ff(layer.norm2(x)).": "缺少前馈子层：在注意力之后，x = x + layer.ff(layer.norm2(x))。",
    "The self-attention sublayer is missing: first x = x + self_attn(h, h, h, mask=mask)[0] with h = "
    "norm1(x).": "缺少自注意力子层：首先 x = x + self_attn(h, h, h, mask=mask)[0]，其中 h = norm1(x)。",
    "Both sublayers read the layer's input: the feed-forward network must see the output of the attention "
    "sublayer, x = x + ff(norm2(x)) computed after x = x + self_attn(...).": "两个子层读的都是这一层的输入：前馈网络必须看到注意力子层的输出，"
    "即在 x = x + self_attn(...) 之后再计算 x = x + ff(norm2(x))。",
    "You normalised the layer's output: a pre-norm layer ends with the residual addition. (The final "
    "LayerNorm of a pre-norm model sits once after the whole stack, in Encoder.norm.)": "你对这一层的输出做了归一化：前置归一化的层以残差相加结束。"
    "（前置归一化模型的最终 LayerNorm 只在整个堆叠之后出现一次，即 Encoder.norm。）",
    "You called the layer itself (or followed layer.norm_first): this layer is post-norm, and the exercise "
    "is to compute the pre-norm layer from its submodules, whatever layer.norm_first says: h = "
    "layer.norm1(x); x = x + layer.self_attn(h, h, h, mask=mask)[0]; x = x + layer.ff(layer.norm2(x)).": "你调用了层本身（或者按 layer.norm_first 行事）：这一层是后置归一化的，"
    "而这道练习要你不管 layer.norm_first 是什么，都用它的子模块计算前置归一化的层："
    "h = layer.norm1(x); x = x + layer.self_attn(h, h, h, mask=mask)[0]; x = x + layer.ff(layer.norm2(x)"
    ")。",
    "You called the layer itself (layer(x, mask), perhaps after setting layer.norm_first = True): the "
    "exercise is to compute the pre-norm layer from its submodules, so the layer's own forward is switched "
    "off here. h = layer.norm1(x); x = x + layer.self_attn(h, h, h, mask=mask)[0]; x = x + "
    "layer.ff(layer.norm2(x)).": "你调用了层本身（layer(x, mask)，也许事先设了 layer.norm_first = True）："
    "这道练习要你用子模块计算前置归一化的层，所以这里关掉了层自己的 forward。"
    "h = layer.norm1(x); x = x + layer.self_attn(h, h, h, mask=mask)[0]; x = x + layer.ff(layer.norm2(x)"
    ")。",
    "Return only the output tensor (batch, seq, d_model), not a tuple.": "只返回输出张量 (batch, seq, d_model)，不要返回元组。",
    "h = layer.norm1(x); x = x + layer.self_attn(h, h, h, mask=mask)[0]; then x = x + "
    "layer.ff(layer.norm2(x)).": "h = layer.norm1(x); x = x + layer.self_attn(h, h, h, mask=mask)[0]；"
    "然后 x = x + layer.ff(layer.norm2(x))。",
    # the cases of pre_norm_encoder_layer (where = f"on the case with {name} (x {shape})")
    "on the case with {name} (x {shape})": "在用例“{name}”上（x {shape}）",
    "no mask": "不带掩码",
    "a causal mask (seq, seq)": "带因果掩码 (seq, seq)",
    "a padding mask (batch, 1, 1, seq)": "带填充掩码 (batch, 1, 1, seq)",
    "a post-norm layer (layer.norm_first=False) and a causal mask": "后置归一化层（layer.norm_first=False）加因果掩码",
    "pre_norm_encoder_layer returned a {kind} ": "pre_norm_encoder_layer 返回了一个 {kind}，",
    " cases, causal and padding masks, a post-norm layer included": " 个用例，包括因果掩码、填充掩码和一个后置归一化的层",
    # layer_norm
    "You used the unbiased variance (dividing by d - 1): LayerNorm divides by d, x.var(dim=-1, "
    "unbiased=False, keepdim=True) or ((x - mean) ** 2).mean(dim=-1, keepdim=True).": "你用的是无偏方差（除以 d - 1）：LayerNorm 除以的是 d，即 x.var(dim=-1, unbiased=False, keepdim=True"
    ") 或 ((x - mean) ** 2).mean(dim=-1, keepdim=True)。",
    "eps goes inside the square root: (x - mean) / sqrt(var + eps), not / (sqrt(var) + eps).": "eps 应放在平方根里面：(x - mean) / sqrt(var + eps)，而不是 / (sqrt(var) + eps)。",
    "eps is missing: divide by sqrt(var + eps), which keeps a constant row finite.": "缺少 eps：请除以 sqrt(var + eps)，这样所有元素都相等的行也能得到有限值。",
    "The mean is not subtracted: normalise x - mean, then divide by sqrt(var + eps).": "没有减去均值：对 x - mean 做归一化，再除以 sqrt(var + eps)。",
    "The gain and bias are missing: return (x - mean) / sqrt(var + eps) * weight + bias.": "缺少增益和偏置：请返回 (x - mean) / sqrt(var + eps) * weight + bias。",
    "The bias is missing: ... * weight + bias.": "缺少偏置：... * weight + bias。",
    "The gain (weight) is missing: ... * weight + bias.": "缺少增益（weight）：... * weight + bias。",
    "You normalised over the wrong axis: LayerNorm normalises each vector over its features, the last axis "
    "(dim=-1, keepdim=True), not over the batch or the positions.": "你在错误的维度上做了归一化：LayerNorm 对每个向量在它的特征上，"
    "即最后一个维度上（dim=-1, keepdim=True）做归一化，而不是在批次或位置上。",
    "You divided by the standard deviation torch.std, which is unbiased (d - 1) and has eps outside: use "
    "sqrt(var + eps) with the biased variance.": "你除以了标准差 torch.std，它是无偏的（d - 1），而且 eps 放在了外面："
    "请用有偏方差计算 sqrt(var + eps)。",
    "Compute (x - mean) / sqrt(var + eps) * weight + bias over the last axis.": "请在最后一个维度上计算 (x - mean) / sqrt(var + eps) * weight + bias。",
    "layer_norm(x of shape {shape}, weight {weight}, bias, eps={eps})": "layer_norm(形状为 {shape} 的 x, weight {weight}, bias, eps={eps})",
}
