"""Chinese versions of the messages of ``tfmcourse.exercises.ch08`` (GPU-accelerated training)."""

HINTS = {
    # flops_per_token
    "This is the forward pass only (2N + 4 * n_layer * d_model * seq). Training also runs the backward "
    "pass, which costs twice the forward (a gradient for the input and one for the weights): multiply "
    "both terms by 3, 6N + 12 * n_layer * d_model * seq.": "这只是前向传播（2N + 4 * n_layer * d_model * seq）。训练还要运行反向传播，它的代价是前向的两倍"
    "（一个梯度给输入，一个给权重）：把两项都乘以 3，即 6N + 12 * n_layer * d_model * seq。",
    "You have the 6N rule but forgot the attention term: q @ k^T and weights @ v multiply activations "
    "by activations (no weights), 12 * n_layer * d_model * seq FLOPs per token in training.": "你用了 6N 法则，但忘了注意力项：q @ k^T 和 weights @ v 是激活乘以激活（没有权重），"
    "训练时每个词元要花 12 * n_layer * d_model * seq FLOPs。",
    "The attention term is the forward one (4 * n_layer * d_model * seq): in training it is tripled like "
    "the rest, 12 * n_layer * d_model * seq.": "注意力项用的是前向的值（4 * n_layer * d_model * seq）：训练时它和其余部分一样要乘以 3，"
    "即 12 * n_layer * d_model * seq。",
    "The attention term uses seq squared: that is the cost of a whole sequence. Per token, a query is "
    "compared with seq keys, so the term is 12 * n_layer * d_model * seq (linear in seq).": "注意力项用了 seq 的平方：那是整个序列的代价。按每个词元算，一个查询要与 seq 个键比较，"
    "所以这一项是 12 * n_layer * d_model * seq（与 seq 成线性关系）。",
    "The matrix term counts one operation per weight: a multiply-add is 2 FLOPs, so the forward pass costs "
    "2N and training 6N (not 3N).": "矩阵项对每个权重只算了一次运算：一次乘加是 2 FLOPs，所以前向传播的代价是 2N，训练是 6N（而不是 3N）。",
    "The attention term is per layer: multiply it by n_layer.": "注意力项是每一层的：要乘以 n_layer。",
    "flops_per_token should return a number, got {kind}.": "flops_per_token 应该返回一个数，但返回的是 {kind}。",
    " returned {got}, expected {want}. ": " 返回了 {got}，应为 {want}。",
    "Training costs 6 FLOPs per weight and 12 * n_layer * d_model * seq for attention.": "训练时每个权重花 6 FLOPs，注意力再花 12 * n_layer * d_model * seq。",
    # mfu
    "Return a fraction between 0 and 1 (0.42), not a percentage (42).": "返回一个 0 到 1 之间的比例（0.42），而不是百分数（42）。",
    "The ratio is upside down: MFU = achieved FLOP/s / peak FLOP/s, achieved = flops_per_token * tokens_per_second.": "比值颠倒了：MFU = 达到的 FLOP/s / 峰值 FLOP/s，其中达到的 FLOP/s = flops_per_token * tokens_per_second。",
    "flops_per_token already counts the backward pass (the 6 of 6N): do not multiply by 3 again.": "flops_per_token 已经算上了反向传播（6N 中的 6）：不要再乘以 3。",
    "When peak_flops is the string 'unknown' (a device that is not in the table), return 'unknown': never "
    "a number, and not an error.": "当 peak_flops 是字符串 'unknown'（设备不在表中）时，返回 'unknown'：绝不能返回一个数，也不能报错。",
    "MFU needs the achieved FLOP/s: multiply flops_per_token by tokens_per_second.": "MFU 需要的是达到的 FLOP/s：把 flops_per_token 乘以 tokens_per_second。",
    "MFU = flops_per_token * tokens_per_second / peak_flops.": "公式为 MFU = flops_per_token * tokens_per_second / peak_flops。",
    "peak_flops='unknown') raised {exc}: ": "peak_flops='unknown') 抛出了 {exc}：",
    "peak_flops='unknown') returned {got}. ": "peak_flops='unknown') 返回了 {got}。",
    # accumulated_step
    "The gradients are k times too large: each micro-batch loss is a mean over its own examples, so the "
    "sum of k of them is k times the loss of the big batch. Divide each loss by len(micro_batches) before "
    "backward().": "梯度大了 k 倍：每个微批次的损失是它自己那些样本的平均，所以 k 个这样的损失之和是大批次损失的 k 倍。"
    "在 backward() 之前把每个损失除以 len(micro_batches)。",
    "Only the last micro-batch counts: optimizer.zero_grad() inside the loop throws away the gradients "
    "accumulated so far. Zero once, before the loop.": "只有最后一个微批次起了作用：循环里的 optimizer.zero_grad() 把到目前为止累积的梯度都丢掉了。"
    "只在循环之前清零一次。",
    "You took one optimizer step per micro-batch: accumulate the gradients of all micro-batches first "
    "(backward() adds into .grad), then call optimizer.step() once, after the loop.": "你对每个微批次都做了一次优化器更新：应先累积所有微批次的梯度（backward() 会累加到 .grad 上），"
    "然后在循环之后只调用一次 optimizer.step()。",
    "The gradients of an earlier step leaked in: .grad still held old values when the loop started. "
    "Call optimizer.zero_grad() before the loop.": "之前某一步的梯度混了进来：循环开始时 .grad 里还留着旧的值。请在循环之前调用 optimizer.zero_grad()。",
    "The parameters are right, but return the mean of the micro-batch losses as a Python float "
    "(the loss of the whole batch).": "参数是对的，但要返回各微批次损失的平均值（即整个批次的损失），类型为 Python 浮点数。",
    "The parameters did not change: call optimizer.step() after the loop.": "参数没有变化：请在循环之后调用 optimizer.step()。",
    "loss_fn was called once, on all the micro-batches concatenated: that is one big batch, with the memory of "
    "the big batch, not gradient accumulation. Call loss_fn(model, micro_batch) once per micro-batch and "
    "backward() each (divided by the number of micro-batches).": "loss_fn 只被调用了一次，用在拼接起来的全部微批次上：那是一个大批次，占用大批次的内存，而不是梯度累积。"
    "请对每个微批次调用一次 loss_fn(model, micro_batch)，并对每个损失（除以微批次的个数后）调用 backward()。",
    "With {k} micro-batches: ": "在 {k} 个微批次的情况下：",
    "With {k} micro-batches of {size} examples, loss_fn was called {calls} times, on batches of {sizes} "
    "examples: call it exactly once per micro-batch.": "在 {k} 个各含 {size} 个样本的微批次上，loss_fn 被调用了 {calls} 次，所用批次的样本数为 {sizes}："
    "每个微批次应恰好调用它一次。",
    "After accumulated_step with {k} micro-batches the parameters differ from one step on the whole batch "
    "(largest difference {diff}). ": "在 {k} 个微批次上运行 accumulated_step 之后，参数与在整个批次上做一步的结果不同（最大差异 {diff}）。",
    "Zero the gradients, backward each loss / k, then one optimizer.step().": "先把梯度清零，对每个 loss / k 调用 backward()，最后做一次 optimizer.step()。",
    " cases": " 个用例",
    # train_loop
    "The learning rate is the full lr from the first step: there is no warmup. Before each optimizer.step(), "
    "set every param group's 'lr' to lr * min(1, step / warmup), with step counted from 1.": "从第一步起学习率就是完整的 lr：没有预热。在每次 optimizer.step() 之前，把每个参数组的 'lr' 设为 "
    "lr * min(1, step / warmup)，step 从 1 开始计数。",
    "The first step ran with learning rate 0: count the steps from 1 (enumerate(batches, start=1)), so that "
    "step 1 gets lr / warmup and the warmup reaches lr at step = warmup.": "第一步是以学习率 0 运行的：步数要从 1 开始计（enumerate(batches, start=1)），这样第 1 步得到 lr / warmup，"
    "预热在 step = warmup 时达到 lr。",
    "The warmup is one step ahead: at step s (counted from 1) the rate is lr * min(1, s / warmup); yours is "
    "lr * min(1, (s + 1) / warmup).": "预热提前了一步：第 s 步（从 1 开始计数）的学习率是 lr * min(1, s / warmup)；你的是 "
    "lr * min(1, (s + 1) / warmup)。",
    "The learning rate keeps growing after the warmup: it must stop at lr, lr * min(1, step / warmup).": "预热之后学习率还在继续增长：它必须停在 lr，即 lr * min(1, step / warmup)。",
    "The learning rate the optimizer used is not the schedule's: set it in optimizer.param_groups (each "
    "group's 'lr') before optimizer.step(), at every step.": "优化器用的学习率不是调度给出的学习率：在每一步的 optimizer.step() 之前，把它设到 optimizer.param_groups 中"
    "（每个组的 'lr'）。",
    "The gradients reached the optimizer unclipped (no clipping, or clipping before backward(), when the "
    "gradients were still zero): after backward() and before optimizer.step(), call "
    "torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm).": "梯度没有经过裁剪就到了优化器（没有裁剪，或者在 backward() 之前、梯度还是零的时候就裁剪了）：请在 backward() "
    "之后、optimizer.step() 之前调用 torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)。",
    "Each parameter tensor was clipped on its own. Clipping bounds the GLOBAL norm, over all the gradients "
    "together (one scale factor for all): torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm).": "每个参数张量被单独裁剪了。裁剪限制的是所有梯度合在一起的“全局”范数（所有梯度共用一个缩放因子）："
    "torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)。",
    "The gradients were clipped element by element (clip_grad_value_): that changes their direction. Clip the "
    "global norm instead, torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm).": "梯度被逐个元素地裁剪了（clip_grad_value_）：这会改变它们的方向。应改为裁剪全局范数："
    "torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)。",
    "The gradients of earlier steps leaked into later ones: call optimizer.zero_grad() at the start of every "
    "step (backward() adds into .grad).": "前面各步的梯度混进了后面的步：请在每一步开始时调用 optimizer.zero_grad()（backward() 会累加到 .grad 上）。",
    "Take exactly one optimizer.step() per batch.": "每个批次恰好做一次 optimizer.step()。",
    "Return the list of the losses of the steps, one Python float per batch, in order.": "返回由各步损失组成的列表：每个批次一个 Python 浮点数，按顺序排列。",
    "train_loop on {n} steps, warmup {warmup}, clip_norm {clip} returned {got}. ": "train_loop（{n} 步，warmup {warmup}，clip_norm {clip}）返回了 {got}。",
    "train_loop on {n} steps, warmup {warmup}, clip_norm {clip}: ": "train_loop（{n} 步，warmup {warmup}，clip_norm {clip}）：",
    "optimizer.step() was called {steps} times and loss_fn {calls} times for {n} batches. ": "对 {n} 个批次，optimizer.step() 被调用了 {steps} 次，loss_fn 被调用了 {calls} 次。",
    "the parameters after the loop are not those of the reference (largest difference {diff}; learning rates "
    "used {lrs}, expected {want}). ": "循环结束后的参数与参考结果不同（最大差异 {diff}；用到的学习率为 {lrs}，应为 {want}）。",
    "Per step: set the lr, zero_grad, loss, backward, clip the global norm, step.": "每一步：设置 lr，zero_grad，计算损失，backward，裁剪全局范数，step。",
    " runs: warmup from step 1, global-norm clipping, one step per batch": " 次运行：预热从第 1 步开始，裁剪全局范数，每个批次一步",
}
