"""Chinese versions of the messages of ``tfmcourse.exercises.ch04`` (position)."""

HINTS = {
    # sinusoidal_table
    "sin and cos are swapped: sin goes to the even dimensions 2i, cos to the odd ones 2i + 1.": "sin 和 cos 放反了：sin 放在偶数维 2i 上，cos 放在奇数维 2i + 1 上。",
    "The frequencies fall too slowly: you used the exponent i / d_model with i the pair index. The "
    "exponent is 2i / d_model: pair i (dimensions 2i and 2i + 1) uses pos / 10000^(2i / d_model).": "频率下降得太慢了：你用的指数是 i / d_model，其中 i 是对的编号。指数应为 2i / d_model："
    "第 i 对（第 2i 和第 2i + 1 维）用的是 pos / 10000^(2i / d_model)。",
    "The odd (cos) dimensions use the wrong frequency: you used 10000^(j / d_model) with j the dimension "
    "index, so dimension 2i + 1 got exponent (2i + 1) / d_model. Both dimensions of pair i share the "
    "exponent 2i / d_model (e.g. torch.arange(0, d_model, 2) / d_model).": "奇数维（cos）用错了频率：你用的是 10000^(j / d_model)，其中 j 是维度的编号，于是第 2i + 1 维得到的指数是 "
    "(2i + 1) / d_model。第 i 对的两个维度共用指数 2i / d_model（例如 torch.arange(0, d_model, 2) / d_model）。",
    "The positions are off by one: row 0 is position 0 (sin 0 = 0, cos 0 = 1), so use torch.arange(max_len).": "位置差了一位：第 0 行是位置 0（sin 0 = 0，cos 0 = 1），所以要用 torch.arange(max_len)。",
    "You put all the sines in the first half and all the cosines in the second half. In Vaswani et al.'s "
    "table they are interleaved: sin at dimension 2i, cos at 2i + 1 (e.g. table[:, 0::2] = sin, "
    "table[:, 1::2] = cos).": "你把所有正弦放在前一半、所有余弦放在后一半。在 Vaswani 等人的表中，它们是交错排列的：sin 在第 2i 维，"
    "cos 在第 2i + 1 维（例如 table[:, 0::2] = sin，table[:, 1::2] = cos）。",
    "You multiplied the position by 10000^(2i / d_model); divide by it (the frequencies fall from 1 towards 1/10000).": "你把位置乘以了 10000^(2i / d_model)；应该除以它（频率从 1 降向 1/10000）。",
    "The angle is in radians: use torch.sin / torch.cos on pos / 10000^(2i / d_model) directly, with no conversion.": "角度的单位是弧度：直接对 pos / 10000^(2i / d_model) 用 torch.sin / torch.cos，不需要任何换算。",
    "Row pos, dimensions 2i and 2i + 1: sin and cos of pos / 10000^(2i / d_model).": "第 pos 行的第 2i 维和第 2i + 1 维：分别是 pos / 10000^(2i / d_model) 的 sin 和 cos。",
    # apply_rope
    "You rotated the wrong pairs: you paired dimensions (2i, 2i + 1), as in the RoFormer paper. This "
    "exercise uses the half-split pairing of GPT-NeoX and Llama: dimension i goes with dimension "
    "i + d / 2 (a = x[..., :d//2], b = x[..., d//2:]).": "你旋转的对不对：你把维度 (2i, 2i + 1) 配成一对，这是 RoFormer 论文的做法。这道练习用的是 GPT-NeoX 和 Llama "
    "的对半切分配对方式：第 i 维与第 i + d / 2 维配对（a = x[..., :d//2]，b = x[..., d//2:]）。",
    "The rotation goes the wrong way (clockwise): (a, b) turns into (a cos - b sin, a sin + b cos), a "
    "counter-clockwise turn by +theta. Check the signs of the sin terms.": "旋转的方向反了（顺时针）：(a, b) 应变为 (a cos - b sin, a sin + b cos)，即逆时针转过 +theta。"
    "检查一下 sin 项的符号。",
    "The positions are off by one: use the positions you are given as they are (the first token of a sequence is at position 0).": "位置差了一位：直接使用传给你的位置，不要改动（序列的第一个词元在位置 0）。",
    "Your rotation does not use the `positions` argument: it gives the right answer only when the "
    "positions are 0, 1, 2, ... Compute the angles from `positions` (positions[:, None] * freqs).": "你的旋转没有用到参数 `positions`：只有当位置是 0, 1, 2, ... 时它才给出正确答案。"
    "请从 `positions` 计算角度（positions[:, None] * freqs）。",
    "The frequencies are wrong: pair i turns by 10000^(-2i / d) per position (the exponent is 2i / d "
    "with i = 0 .. d/2 - 1, the same frequencies as the sinusoidal table), not 10000^(-i / d).": "频率不对：第 i 对每个位置转过 10000^(-2i / d)（指数是 2i / d，其中 i = 0 .. d/2 - 1，与正弦表的频率相同），"
    "而不是 10000^(-i / d)。",
    "Every pair turns at the same speed: pair i must use its own frequency 10000^(-2i / d).": "每一对都以相同的速度转动：第 i 对必须使用它自己的频率 10000^(-2i / d)。",
    "Only the cos part is there: a rotation mixes the two dimensions of a pair, (a cos - b sin, a sin + b cos).": "只有 cos 的部分：旋转要把一对中的两个维度混合起来，即 (a cos - b sin, a sin + b cos)。",
    "Your function works on (seq, d) but not with leading axes such as (batch, heads, seq, d): index the "
    "last axis with x[..., :half] and let cos / sin of shape (seq, d/2) broadcast.": "你的函数对 (seq, d) 可以工作，但带上 (batch, heads, seq, d) 这样的前导维度就不行了：用 x[..., :half] "
    "索引最后一个维度，并让形状为 (seq, d/2) 的 cos / sin 自动广播。",
    "Split x into a = x[..., :d/2] and b = x[..., d/2:], compute theta = positions[:, None] * "
    "10000^(-2i/d), and return cat(a cos - b sin, a sin + b cos).": "把 x 拆成 a = x[..., :d/2] 和 b = x[..., d/2:]，计算 theta = positions[:, None] * 10000^(-2i/d)，"
    "再返回 cat(a cos - b sin, a sin + b cos)。",
    "q . k after your rotation depends on the absolute positions, not only on their difference.": "经过你的旋转之后，q . k 取决于绝对位置，而不仅仅取决于位置之差。",
    # alibi_bias
    "The bias has the wrong sign: ALiBi *penalises* far keys, so bias[h, i, j] = -m_h * |i - j| (zero on "
    "the diagonal, more and more negative away from it).": "偏置的符号反了：ALiBi *惩罚*远处的键，所以 bias[h, i, j] = -m_h * |i - j|（对角线上为零，离对角线越远越负）。",
    "You used i - j (or j - i) without the absolute value: keys on one side then get a bonus instead of "
    "a penalty. The bias depends on the distance, -m_h * |i - j|.": "你用了 i - j（或 j - i）而没有取绝对值：这样一侧的键得到的是奖励而不是惩罚。偏置取决于距离，即 -m_h * |i - j|。",
    "The slopes start at the wrong head: head h (counting from 0) has m_h = 2^(-8 (h + 1) / num_heads), "
    "so the first head's slope is 2^(-8 / num_heads), not 1.": "斜率从错误的头开始：头 h（从 0 数起）的斜率是 m_h = 2^(-8 (h + 1) / num_heads)，"
    "所以第一个头的斜率是 2^(-8 / num_heads)，而不是 1。",
    "The slopes are in reverse order: the first head has the steepest slope, 2^(-8 / num_heads).": "斜率的顺序反了：第一个头的斜率最陡，为 2^(-8 / num_heads)。",
    "Every head has the same slope: head h has its own m_h = 2^(-8 (h + 1) / num_heads), so that some "
    "heads look far and others near.": "每个头的斜率都相同：头 h 有它自己的 m_h = 2^(-8 (h + 1) / num_heads)，这样一些头看远处，另一些头看近处。",
    "Return one (seq_len, seq_len) bias per head: shape (num_heads, seq_len, seq_len).": "每个头返回一个 (seq_len, seq_len) 的偏置：形状为 (num_heads, seq_len, seq_len)。",
    "bias[h, i, j] = -m_h * |i - j| with m_h = 2^(-8 (h + 1) / num_heads).": "bias[h, i, j] = -m_h * |i - j|，其中 m_h = 2^(-8 (h + 1) / num_heads)。",
    # the package's own function handed in
    "Write it yourself, without {path}: you passed the package's function itself.": "请自己写，不要用 {path}：你交上来的就是配套包中的这个函数本身。",
    # the `what` / `where` of the messages
    "apply_rope on the case {name} (x {shape}, positions {positions})": "apply_rope（用例“{name}”：x {shape}，positions {positions}）",
    # the names of the cases ("(batch, heads, seq, d)" has no words to translate)
    "(seq, d) at positions 0 .. 4": "(seq, d)，位置 0 .. 4",
    "(seq, d) at positions 7 .. 12": "(seq, d)，位置 7 .. 12",
    "(seq, d) at unordered positions": "(seq, d)，位置无序",
    # passed()
    " cases; q . k depends only on the relative position": " 个用例；q . k 只取决于相对位置",
}
