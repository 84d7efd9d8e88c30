"""Chinese versions of the messages of ``tfmcourse.exercises.ch01`` (why Transformers: RNN, LSTM, path length)."""

HINTS = {
    # rnn_step
    "You return the pre-activation: apply torch.tanh to x_t @ W_xh + h_prev @ W_hh + b.": "你返回的是激活之前的值：要对 x_t @ W_xh + h_prev @ W_hh + b 应用 torch.tanh。",
    "Use tanh, not sigmoid, as the nonlinearity of the Elman RNN step.": "Elman RNN 单步的非线性函数要用 tanh，而不是 sigmoid。",
    "Use tanh, not ReLU, as the nonlinearity of this RNN step.": "这个 RNN 单步的非线性函数要用 tanh，而不是 ReLU。",
    "h_prev is ignored: add h_prev @ W_hh, which carries the past into step t.": "h_prev 被忽略了：加上 h_prev @ W_hh，它把过去带入第 t 步。",
    "The bias b is missing.": "缺少偏置 b。",
    "The weights are transposed: with W_xh of shape (d_in, d_hidden) compute x_t @ W_xh (no .T).": "权重转置了：W_xh 的形状为 (d_in, d_hidden)，应计算 x_t @ W_xh（不要 .T）。",
    "W_hh is transposed: compute h_prev @ W_hh, rows index the previous state's units.": "W_hh 转置了：应计算 h_prev @ W_hh，它的行对应上一个状态的各个单元。",
    "Apply one tanh to the whole sum x_t @ W_xh + h_prev @ W_hh + b, not to each term.": "对整个和 x_t @ W_xh + h_prev @ W_hh + b 只取一个 tanh，而不是对每一项各取一个。",
    "Compute h_t = tanh(x_t @ W_xh + h_prev @ W_hh + b).": "请计算 h_t = tanh(x_t @ W_xh + h_prev @ W_hh + b)。",
    "h_t = tanh(x_t W_xh + h_prev W_hh + b) on 3 cases": "h_t = tanh(x_t W_xh + h_prev W_hh + b)，3 个用例",
    # rnn_forward
    "You returned only the last hidden state: return every state, stacked along time, shape "
    "(batch, seq, d_hidden) (torch.stack(states, dim=1)).": "你只返回了最后一个隐藏状态：要返回每一个状态，沿时间堆叠，形状为 (batch, seq, d_hidden)"
    "（torch.stack(states, dim=1)）。",
    "The states are stacked along the wrong axis: (seq, batch, d_hidden) instead of (batch, seq, "
    "d_hidden). Stack along dim=1.": "状态沿错误的维度堆叠了：得到的是 (seq, batch, d_hidden)，而不是 (batch, seq, d_hidden)。请沿 dim=1 堆叠。",
    "Every step starts again from h0: carry the state along, h = rnn_step(x[:, t], h, ...), so that "
    "step t uses the state of step t-1.": "每一步都重新从 h0 开始了：要把状态传下去，h = rnn_step(x[:, t], h, ...)，使第 t 步用上第 t-1 步的状态。",
    "The first state you return is h0 itself: return the states after each of the seq steps (not h0).": "你返回的第一个状态就是 h0 本身：要返回 seq 步中每一步之后的状态（不含 h0）。",
    "The sequence is read backwards: step through t = 0, 1, ..., seq-1 in order.": "序列被倒着读了：要按 t = 0, 1, ..., seq-1 的顺序逐步进行。",
    "h0 is ignored: start the loop from the given h0 (zeros only when h0 is None).": "h0 被忽略了：循环要从给定的 h0 开始（只有 h0 为 None 时才取全零）。",
    "Loop over time: h = tanh(x[:, t] @ W_xh + h @ W_hh + b), keep every h, stack them along dim 1.": "沿时间循环：h = tanh(x[:, t] @ W_xh + h @ W_hh + b)，保留每一个 h，沿 dim 1 把它们堆叠起来。",
    "every hidden state, in order, carried from step to step, with and without h0": "每一个隐藏状态，顺序正确，逐步传递，有 h0 和没有 h0 两种情况",
    # lstm_step
    "The gates are taken in the wrong order. The 4 * d_hidden columns hold, in torch's order, "
    "the input gate i, the forget gate f, the candidate g and the output gate o: "
    "i, f, g, o = z.chunk(4, dim=-1).": "门的顺序取错了。4 * d_hidden 列按 torch 的顺序依次是输入门 i、遗忘门 f、候选值 g 和输出门 o："
    "i, f, g, o = z.chunk(4, dim=-1)。",
    "The candidate g uses tanh (it can be negative), not sigmoid; only i, f and o are sigmoids.": "候选值 g 用 tanh（它可以是负数），而不是 sigmoid；只有 i、f 和 o 是 sigmoid。",
    "The gates i, f and o are sigmoids (numbers between 0 and 1), not tanh; only g is a tanh.": "门 i、f 和 o 是 sigmoid（介于 0 和 1 之间的数），而不是 tanh；只有 g 是 tanh。",
    "h_t = o * tanh(c_t): you forgot the tanh of the cell.": "h_t = o * tanh(c_t)：你忘了对单元取 tanh。",
    "The candidate enters the cell through the input gate: c_t = f * c_prev + i * g (you left out i).": "候选值要经过输入门才进入单元：c_t = f * c_prev + i * g（你漏掉了 i）。",
    "The old cell passes through the forget gate: c_t = f * c_prev + i * g (you left out f).": "旧的单元内容要经过遗忘门：c_t = f * c_prev + i * g（你漏掉了 f）。",
    "h_t reads the NEW cell: h_t = o * tanh(c_t), with c_t computed first (you used c_prev).": "h_t 读取的是“新的”单元：h_t = o * tanh(c_t)，要先算出 c_t（你用的是 c_prev）。",
    "You returned (c_t, h_t); return (h_t, c_t).": "你返回的是 (c_t, h_t)；应返回 (h_t, c_t)。",
    "Return the pair (h_t, c_t).": "请返回二元组 (h_t, c_t)。",
    "h_prev is ignored: the gates read x_t @ W_x + h_prev @ W_h + b.": "h_prev 被忽略了：各个门读取的是 x_t @ W_x + h_prev @ W_h + b。",
    "The bias b is missing from the gates' pre-activation.": "门的激活前的值里缺少偏置 b。",
    "z = x_t @ W_x + h_prev @ W_h + b; i, f, g, o = z.chunk(4, -1); i, f, o = sigmoid; g = tanh; "
    "c_t = f * c_prev + i * g; h_t = o * tanh(c_t).": "z = x_t @ W_x + h_prev @ W_h + b；i, f, g, o = z.chunk(4, -1)；i、f、o 用 sigmoid；g 用 tanh；"
    "c_t = f * c_prev + i * g；h_t = o * tanh(c_t)。",
    " returned one tensor.": " 只返回了一个张量。",
    " returned a {kind}.": " 返回了一个 {kind}。",
    "gates i, f, g, o; c_t = f c + i g; h_t = o tanh(c_t), on 3 cases": "门 i、f、g、o；c_t = f c + i g；h_t = o tanh(c_t)，3 个用例",
    # path_length
    " should return an int, got {got}.": " 应返回一个整数，实际得到 {got}。",
    " returned {got}, but it should be {want}.": " 返回了 {got}，但应为 {want}。",
    "Count the recurrent steps between the positions: from i to j that is j - i, not j - i + 1.": "数一数两个位置之间的循环步数：从 i 到 j 是 j - i 步，而不是 j - i + 1 步。",
    "An RNN has no direct link from i to j: the state is passed on one step at a time.": "RNN 没有从 i 直达 j 的连接：状态是一步一步传下去的。",
    "In self-attention position j looks at position i directly, in one step, however far.": "在自注意力中，位置 j 直接看向位置 i，只需一步，无论相距多远。",
    "When i == j the information is already there: zero steps.": "当 i == j 时信息已经在那里了：零步。",
    "RNN: one step per position in between (j - i); self-attention: one step (0 when i == j).": "RNN：中间每个位置一步（j - i）；自注意力：一步（i == j 时为 0）。",
    "RNN: j - i steps; self-attention: 1 step": "RNN：j - i 步；自注意力：1 步",
}
