"""Chinese versions of the messages of ``tfmcourse.exercises.ch10`` (Hugging Face)."""

HINTS = {
    # hf_block_weights
    "The weight {key} is transposed: GPT-2's Conv1D stores its weight as (in, out) and computes x @ W + b, "
    "the transpose of nn.Linear's (out, in) weight. Use linear.weight.T.": "权重 {key} 转置了：GPT-2 的 Conv1D 把权重存成 (in, out) 并计算 x @ W + b，这是 nn.Linear 的 (out, in) 权重的转置。"
    "请用 linear.weight.T。",
    "attn.c_attn packs the three projections side by side in the order [q | k | v] (columns 0..d-1 are "
    "the query's, then the key's, then the value's); yours are in another order.": "attn.c_attn 把三个投影按 [q | k | v] 的顺序并排打包（第 0..d-1 列属于查询，接着是键的，然后是值的）；"
    "你的顺序不对。",
    "attn.c_attn.weight must be (d_model, 3 * d_model): the three (d_model, d_model) Conv1D weights "
    "(each a transposed nn.Linear weight) side by side, concatenated along the columns (dim=1), not "
    "stacked along the rows.": "attn.c_attn.weight 的形状必须是 (d_model, 3 * d_model)：三个 (d_model, d_model) 的 Conv1D 权重"
    "（每个都是转置后的 nn.Linear 权重）并排放置，沿列（dim=1）拼接，而不是沿行堆叠。",
    "Return the names inside one block, without the model's prefix: 'ln_1.weight', not "
    "'transformer.h.0.ln_1.weight'.": "返回一个块内部的名字，不带模型的前缀：是 'ln_1.weight'，而不是 'transformer.h.0.ln_1.weight'。",
    "ln_1 and ln_2 are swapped: ln_1 is the LayerNorm before the attention (our norm1), ln_2 the one "
    "before the feed-forward network (our norm2).": "ln_1 和 ln_2 弄反了：ln_1 是注意力之前的 LayerNorm（我们的 norm1），ln_2 是前馈网络之前的那个（我们的 norm2）。",
    "mlp.c_fc is the first feed-forward layer (d_model -> d_ff, our ff.linear1) and mlp.c_proj the "
    "second (d_ff -> d_model, our ff.linear2).": "mlp.c_fc 是前馈网络的第一层（d_model -> d_ff，我们的 ff.linear1），mlp.c_proj 是第二层"
    "（d_ff -> d_model，我们的 ff.linear2）。",
    "attn.c_proj is the output projection of the attention (our attn.out_proj), transposed to Conv1D's "
    "(in, out) layout.": "attn.c_proj 是注意力的输出投影（我们的 attn.out_proj），要转置成 Conv1D 的 (in, out) 布局。",
    "Write it yourself, without {path}: this exercise builds what that method does. (`{fn}` called it.)": "请自己写，不要调用 {path}：这道练习要构建的正是那个方法所做的事。（`{fn}` 调用了它。）",
    "hf_block_weights(block with d_model={d_model}, {heads} heads, d_ff={d_ff})": "hf_block_weights（block：d_model={d_model}，{heads} 个头，d_ff={d_ff}）",
    " returned a {kind}: return a dict {name: tensor}.": " 返回了一个 {kind}：请返回一个字典 {name: tensor}。",
    ": the names are not GPT-2's. Missing: {missing}; unexpected: {extra}. One GPT-2 block has exactly these "
    "entries: {keys}.": "：这些名字不是 GPT-2 的。缺少：{missing}；多出：{extra}。一个 GPT-2 块恰好有这些条目：{keys}。",
    ": {key} is a {kind}, not a tensor.": "：{key} 是一个 {kind}，不是张量。",
    ": {key} has shape {got}, GPT-2 expects {want}.": "：{key} 的形状为 {got}，GPT-2 要求的是 {want}。",
    ": {key} has the right shape but wrong values.": "：{key} 形状正确，但数值不对。",
    ": loaded into GPT2LMHeadModel, the block gives other logits (largest difference {err}).": "：加载进 GPT2LMHeadModel 之后，这个块给出的 logits 不同（最大差异 {err}）。",
    "two block shapes; GPT2LMHeadModel with your block gives our logits": "两种块的尺寸；装上你的块的 GPT2LMHeadModel 给出了我们的 logits",
    # bpe_merge_step
    "The pairs are counted once per distinct word: each word's pairs count as many times as the word "
    "occurs (add the word's count, not 1).": "符号对在每个不同的词中只计了一次：每个词的符号对要按这个词出现的次数来计（加上词的次数，而不是 1）。",
    "A pair that occurs twice in one word counts twice: count every adjacent position, not the set of "
    "pairs of the word.": "在一个词中出现两次的符号对要计两次：统计每一个相邻位置，而不是这个词的符号对的集合。",
    "Several pairs are equally frequent and you picked another one: take the smallest of the tied pairs "
    "in Python's order, min(tied_pairs).": "有几对同样频繁，而你选了另一对：应在并列的符号对中取按 Python 顺序最小的一对，即 min(tied_pairs)。",
    "The merge overlaps itself: ('a', 'a', 'a') with the pair ('a', 'a') becomes ('aa', 'a'): scan left "
    "to right and, after merging at position i, continue at i + 2.": "合并发生了自我重叠：('a', 'a', 'a') 按符号对 ('a', 'a') 合并后应变成 ('aa', 'a')：从左到右扫描，"
    "在位置 i 合并之后，从 i + 2 继续。",
    "Two words that become equal after the merge must add their counts; yours keeps only one of them "
    "(new_words[w] = count overwrites: use new_words[w] = new_words.get(w, 0) + count).": "合并后变得相同的两个词必须把次数相加；你的只保留了其中一个"
    "（new_words[w] = count 会覆盖：请用 new_words[w] = new_words.get(w, 0) + count）。",
    "Return the pair as a tuple of the two symbols, ('a', 'b'), not as the merged string 'ab'.": "把符号对作为两个符号组成的元组 ('a', 'b') 返回，而不是合并后的字符串 'ab'。",
    "The words are returned unchanged: replace every occurrence of the pair by one symbol, pair[0] + pair[1].": "返回的词没有变化：把这个符号对的每一次出现都替换成一个符号 pair[0] + pair[1]。",
    "Your function changed the dict it was given: build and return a new dict.": "你的函数改动了传给它的字典：请构建并返回一个新字典。",
    " returned only the pair {got}: return a tuple (pair, new_words).": " 只返回了符号对 {got}：请返回一个元组 (pair, new_words)。",
    " returned {got}: return a tuple (pair, new_words).": " 返回了 {got}：请返回一个元组 (pair, new_words)。",
    " returned the pair {pair}.": " 返回的符号对是 {pair}。",
    ": new_words is a {kind}, it should be a dict {word tuple: count}.": "：new_words 是一个 {kind}，它应该是一个字典 {word tuple: count}。",
    ": the pair to merge is {want}, yours is {got}.": "：应合并的符号对是 {want}，你的是 {got}。",
    ": the pair {pair} is right, but the merged words should be {want}, yours are {got}.": "：符号对 {pair} 是对的，但合并后的词应为 {want}，你的是 {got}。",
    " vocabularies, ties and overlapping pairs included": " 个词表，包括并列和重叠的符号对",
    # greedy_generate
    "The model re-reads the whole sequence at every step: the point is the KV cache. Call the model on "
    "the prompt once with use_cache=True, keep out.past_key_values, and from then on feed only the new "
    "token, model(next_token, past_key_values=past, use_cache=True).": "模型每一步都重新读取整个序列：这道练习的重点正是键值缓存（KV cache）。先用 use_cache=True 在提示上调用一次"
    "模型，保存 out.past_key_values，此后只喂入新的词元：model(next_token, past_key_values=past, use_cache=True)。",
    "The next token comes from the logits of the *last* position, out.logits[:, -1], not the first.": "下一个词元来自*最后*一个位置的 logits，即 out.logits[:, -1]，而不是第一个位置的。",
    "Return the prompt followed by the new tokens, shape (batch, prompt + max_new_tokens).": "返回提示加上新的词元，形状为 (batch, prompt + max_new_tokens)。",
    "Each new token is fed without the cache, so the model sees that one token and nothing before it: "
    "pass past_key_values=past (from the previous call's out.past_key_values) with the new token.": "每个新词元都是在没有缓存的情况下喂入的，所以模型只看到这一个词元，看不到它前面的任何内容：喂入新词元时，"
    "请传入 past_key_values=past（来自上一次调用的 out.past_key_values）。",
    "Generate exactly max_new_tokens tokens: the result has prompt + max_new_tokens positions.": "恰好生成 max_new_tokens 个词元：结果有 prompt + max_new_tokens 个位置。",
    "The prompt at the start of the result was changed: keep input_ids as they are and append.": "结果开头的提示被改动了：保持 input_ids 不变，只在后面追加。",
    " returned a {kind}: return a tensor of token ids.": " 返回了一个 {kind}：请返回一个词元 id 的张量。",
    " has shape {shape}.": " 的形状为 {shape}。",
    " has shape {got}, expected {want}.": " 的形状为 {got}，应为 {want}。",
    " gives other tokens than greedy decoding:\n  expected {want}\n  got      ": " 给出的词元与贪心解码不同：\n  应为     {want}\n  实际为   ",
    ": right tokens, but the model was called on sequences of lengths {lengths}; with the cache it is {want}.": "：词元是对的，但调用模型时传入的序列长度为 {lengths}；用缓存时应为 {want}。",
    "two prompts; the same tokens as greedy decoding, one position per step": "两个提示；词元与贪心解码相同，每步一个位置",
}
