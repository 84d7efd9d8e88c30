"""Chinese versions of the messages of ``tfmcourse.exercises`` (``run``, ``expect_*``, ``forbidden``, ``passed``)."""

HINTS = {
    # run(): the learner's function is a stub, or it crashed
    "` is not implemented yet: replace the line `raise NotImplementedError` with your code.": "` 还没有实现（not implemented）：把 `raise NotImplementedError` 这一行换成你的代码。",
    "` raised {exc}: {message}\n  (it was called with: {args})": "` 抛出了 {exc}：{message}\n  （调用时的参数：{args}）",
    # forbidden(): the exercise re-implements a function, which it may not call
    "Write it yourself, without {path}: this exercise builds what that function does. (`{fn}` called it.)": "请自己写，不要调用 {path}：这道练习要构建的正是那个函数所做的事。（`{fn}` 调用了它。）",
    "Write it yourself, without {path}: you handed in {same} itself.": "请自己写，不要用 {path}：你交上来的就是 {same} 本身。",
    # expect_shape(), expect_close(), fail()
    " is a tensor on the 'meta' device: it has a shape but no values. Compute real numbers.": " 是 'meta' 设备上的张量：它只有形状，没有数值。请计算出真正的数。",
    " is a complex tensor ({got}); the answer is real ({want}): do not use complex numbers.": " 是复数张量（{got}）；答案是实数（{want}）：不要使用复数。",
    " contains {name} at {count} of {total} entries where the answer is finite.": " 在 {total} 个元素中有 {count} 个是 {name}，而答案在这些位置是有限值。",
    " has {count} of {total} entries that should be {values} but are not (e.g. {got}).": " 在 {total} 个元素中有 {count} 个应为 {values}，实际却不是（例如 {got}）。",
    " should be a torch.Tensor, but it is a {kind}.": " 应该是 torch.Tensor，但它是 {kind}。",
    " should have shape {want}, but it has shape {got}.": " 的形状应为 {want}，实际为 {got}。",
    " has the right shape but wrong values (largest error {error}).": " 形状正确，但数值不对（最大误差 {error}）。",
    " contains NaN.": " 中含有 NaN。",
    " is wrong.": " 不正确。",
    # passed(): the success line, "✔ name: correct (detail)."
    ": correct ({detail}).": "：正确（{detail}）。",
    ": correct.": "：正确。",
}
