"""Chinese versions of the messages of ``tfmcourse.exercises.ch00`` (the softmax warm-up)."""

HINTS = {
    "The values are normalised along the wrong axis: each row along the LAST axis (dim=-1) should sum to 1.": "归一化用错了维度：沿“最后一个”维度（dim=-1）的每一行之和应为 1。",
    "You exponentiated but did not divide by the sum: the outputs must sum to 1.": "你做了指数运算，但没有除以总和：输出之和必须为 1。",
    "softmax([1000, 999, 998]) gave inf or NaN: exp(1000) overflows. Subtract the maximum of each row "
    "before exponentiating; it cancels in the ratio.": "softmax([1000, 999, 998]) 得到了 inf 或 NaN：exp(1000) 溢出了。先减去每一行的最大值再取指数；"
    "它在比值中会被约掉。",
    "You subtracted one maximum for the whole tensor, not one per row. A row far below the global maximum "
    "then underflows: every exp(x - max) is 0 and the row becomes 0/0 = NaN. Subtract each row's own "
    "maximum: x.max(dim=-1, keepdim=True).values.": "你对整个张量只减去了一个最大值，而不是每行各减自己的最大值。于是比全局最大值低很多的那一行会下溢："
    "每个 exp(x - max) 都是 0，这一行变成 0/0 = NaN。请减去每行自己的最大值：x.max(dim=-1, keepdim=True).values。",
    "softmax(x)_i = exp(x_i) / sum_j exp(x_j) along the last axis.": "softmax(x)_i = exp(x_i) / sum_j exp(x_j)，沿最后一个维度计算。",
    # the `what` of the messages
    "softmax(x) for x of shape (3, 4, 5)": "形状为 (3, 4, 5) 的 x 的 softmax(x)",
    "softmax of 3 rows at different scales (row 0 near -1000)": "处在不同量级的 3 行的 softmax（第 0 行在 -1000 附近）",
    "softmax of 3 rows at different scales": "处在不同量级的 3 行的 softmax",
    # passed()
    "right axis, sums to 1, stable for large inputs and for rows at different scales": "维度正确，和为 1，对大输入和不同量级的各行都数值稳定",
}
