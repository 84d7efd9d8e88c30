"""Chinese versions of the messages of ``tfmcourse.exercises.ch14`` (speech)."""

HINTS = {
    # mel_filterbank
    "The filterbank is transposed: return (n_freqs, n_mels), one column per filter, so that "
    "power (frames, n_freqs) @ fbank gives (frames, n_mels).": "滤波器组被转置了：应返回 (n_freqs, n_mels)，每个滤波器一列，这样 power (frames, n_freqs) @ fbank "
    "得到 (frames, n_mels)。",
    "The filters are spaced evenly in Hz: space the n_mels + 2 edge points evenly in mels, "
    "between hz_to_mel(f_min) and hz_to_mel(f_max), then convert them back to Hz.": "滤波器在赫兹上均匀分布了：应在梅尔刻度上，在 hz_to_mel(f_min) 和 hz_to_mel(f_max) 之间均匀取 n_mels + 2 个边缘点，"
    "再把它们换算回赫兹。",
    "Filter m needs three points, its lower edge, centre and upper edge: space n_mels + 2 points in mels "
    "(filter m uses points m, m + 1, m + 2), not n_mels.": "滤波器 m 需要三个点：下边缘、中心和上边缘：在梅尔刻度上取 n_mels + 2 个点（滤波器 m 使用点 m、m + 1、m + 2），"
    "而不是 n_mels 个。",
    "The mel formula and its inverse do not match: 2595 * log10(1 + f / 700) goes with "
    "700 * (10 ** (m / 2595) - 1). (A natural log needs the constant 1127 and exp.)": "梅尔公式和它的逆不匹配：2595 * log10(1 + f / 700) 对应的是 700 * (10 ** (m / 2595) - 1)。"
    "（用自然对数的话，常数是 1127，逆变换用 exp。）",
    "The bin frequencies are wrong: bin k of an n_fft-point spectrum is at k * sample_rate / n_fft Hz, "
    "so the n_freqs = n_fft // 2 + 1 bins run from 0 to sample_rate / 2: torch.linspace(0, sample_rate / 2, n_freqs).": "频率区间的频率不对：n_fft 点频谱的第 k 个区间位于 k * sample_rate / n_fft Hz，所以 n_freqs = n_fft // 2 + 1 "
    "个区间从 0 排到 sample_rate / 2：torch.linspace(0, sample_rate / 2, n_freqs)。",
    "Your triangles are straight lines in mels; these filters are triangles in Hz: rising "
    "(f - lower) / (centre - lower) and falling (upper - f) / (upper - centre), with f, lower, centre, upper in Hz.": "你的三角形在梅尔刻度上是直线；这些滤波器应是赫兹上的三角形：上升段 (f - lower) / (centre - lower)，"
    "下降段 (upper - f) / (upper - centre)，其中 f、lower、centre、upper 都以赫兹为单位。",
    "The filters are area-normalised (Slaney's norm, 2 / (upper - lower)): this exercise asks for "
    "triangles that peak at 1.": "滤波器做了面积归一化（Slaney 归一化，2 / (upper - lower)）：这道练习要求峰值为 1 的三角形。",
    "You used Slaney's mel scale; this exercise uses HTK's, mel = 2595 * log10(1 + f / 700).": "你用的是 Slaney 的梅尔刻度；这道练习用的是 HTK 的，mel = 2595 * log10(1 + f / 700)。",
    "Some values are negative: outside its triangle a filter is 0, so take the minimum of the rising and "
    "falling slopes and clamp it at 0.": "有些值是负的：滤波器在其三角形之外为 0，所以取上升段和下降段中的较小者，并截断在 0 以上。",
    "f_min and f_max are ignored: the edge points run from hz_to_mel(f_min) to hz_to_mel(f_max).": "忽略了 f_min 和 f_max：边缘点应从 hz_to_mel(f_min) 排到 hz_to_mel(f_max)。",
    "Space n_mels + 2 points evenly in mels from f_min to f_max, convert them to Hz, and build filter m as "
    "the triangle over points m, m + 1, m + 2.": "在梅尔刻度上从 f_min 到 f_max 均匀取 n_mels + 2 个点，换算成赫兹，再把滤波器 m 构造成架在点 m、m + 1、m + 2 上的三角形。",
    # log_mel
    "You used the magnitude |X| of the STFT: the mel filters weigh the power |X|^2 (torch.stft(...).abs() ** 2).": "你用的是 STFT 的幅度 |X|：梅尔滤波器加权的是功率 |X|^2（torch.stft(...).abs() ** 2）。",
    "Decibels of a power are 10 * log10(power); 20 * log10 is for amplitudes.": "功率的分贝是 10 * log10(power)；20 * log10 用于幅度。",
    "Use log10 for decibels: 10 * torch.log10(...), not the natural log.": "分贝要用 log10：10 * torch.log10(...)，而不是自然对数。",
    "No window: pass window=torch.hann_window(n_fft) to torch.stft (periodic Hann), otherwise every "
    "frame is cut with a rectangle and its spectrum leaks.": "没有加窗：给 torch.stft 传入 window=torch.hann_window(n_fft)（周期 Hann 窗），否则每一帧都是用矩形窗截取的，"
    "频谱会发生泄漏。",
    "Use the periodic Hann window, torch.hann_window(n_fft) (periodic=True, the default).": "请使用周期 Hann 窗 torch.hann_window(n_fft)（periodic=True，即默认值）。",
    "The frames are not centred: torch.stft(..., center=True) (the default) pads n_fft // 2 samples on "
    "each side, giving 1 + samples // hop_length frames.": "帧没有居中：torch.stft(..., center=True)（默认值）会在两侧各填充 n_fft // 2 个采样点，"
    "得到 1 + samples // hop_length 帧。",
    "Put time first: the result is (..., frames, n_mels); torch.stft returns (..., n_freqs, frames), so "
    "transpose the last two axes before multiplying by the filterbank.": "把时间放在前面：结果应为 (..., frames, n_mels)；torch.stft 返回的是 (..., n_freqs, frames)，"
    "所以在乘以滤波器组之前要交换最后两个维度。",
    "Silent frames give log10(0) = -inf: clamp the mel energies at 1e-10 before the log, "
    "(power @ fbank).clamp(min=1e-10).": "静音帧会得到 log10(0) = -inf：取对数之前把梅尔能量截断在 1e-10 以上，即 (power @ fbank).clamp(min=1e-10)。",
    "Take the log after the filterbank: 10 * log10(power @ fbank), not log10(power) @ fbank.": "先过滤波器组再取对数：10 * log10(power @ fbank)，而不是 log10(power) @ fbank。",
    "The frames should be hop_length samples apart: torch.stft(..., hop_length=hop_length).": "相邻帧之间应相隔 hop_length 个采样点：torch.stft(..., hop_length=hop_length)。",
    "log_mel on {name} (n_fft={n_fft}, hop_length={hop})": "log_mel（输入：{name}；n_fft={n_fft}，hop_length={hop}）",
    "a chirp (samples,)": "一段线性调频信号 (samples,)",
    "a batch (2, samples) with a silent stretch": "一个含静音段的批次 (2, samples)",
    "one second of noise at 16 kHz": "一秒 16 kHz 的噪声",
    " contains -inf.": " 中含有 -inf。",
    ", transposed to (..., frames, n_freqs); then 10 * log10((power @ fbank).clamp(min=1e-10)).": "，转置为 (..., frames, n_freqs)；然后 10 * log10((power @ fbank).clamp(min=1e-10))。",
    # conv_stack_length
    "Round down: a convolution fits floor((L + 2p - k) / s) + 1 windows, not the ceiling.": "要向下取整：一个卷积能放下 floor((L + 2p - k) / s) + 1 个窗口，而不是向上取整。",
    "Count the first window too: (L + 2p - k) // s + 1.": "第一个窗口也要计入：(L + 2p - k) // s + 1。",
    "Padding adds p frames on each side: (L + 2 * p - k) // s + 1.": "填充在两侧各加 p 帧：(L + 2 * p - k) // s + 1。",
    "Padding is added on both sides: 2 * p, (L + 2 * p - k) // s + 1.": "填充是加在两侧的：2 * p，(L + 2 * p - k) // s + 1。",
    "Dividing by the product of the strides is only approximately right: apply (L + 2p - k) // s + 1 "
    "layer after layer, with each layer's own kernel, stride and padding.": "除以各步幅的乘积只是近似正确：要逐层应用 (L + 2p - k) // s + 1，每层用它自己的卷积核大小、步幅和填充。",
    "Return an int: use integer division //, not /.": "返回一个 int：用整除 //，而不是 /。",
    "Apply every layer in turn, each to the length the previous one left, not only the first.": "依次应用每一层，每层作用于前一层留下的长度，而不只是第一层。",
    " returned the float {got}.": " 返回了浮点数 {got}。",
    " returned {got}, but torch.nn.Conv1d leaves {want} frames.": " 返回了 {got}，但 torch.nn.Conv1d 留下的是 {want} 帧。",
    "Apply (L + 2 * padding - kernel_size) // stride + 1 for each layer in turn.": "对每一层依次应用 (L + 2 * padding - kernel_size) // stride + 1。",
    # ctc_greedy_decode
    "Repeats are not collapsed: 7 7 7 on consecutive frames is one 7 (keep a label only when it differs "
    "from the previous frame's).": "没有合并重复：连续帧上的 7 7 7 是一个 7（只有当标签与前一帧不同时才保留它）。",
    "The blanks are still there: after collapsing the repeats, drop the blank label.": "空白符还在：合并重复之后，要去掉空白标签。",
    "You removed the blanks before collapsing: then 7 _ 7 becomes 7 7 -> 7, but the blank between them "
    "means two sevens. Collapse repeats on the frame sequence first, then drop the blanks.": "你在合并之前就去掉了空白符：这样 7 _ 7 会变成 7 7 -> 7，但它们之间的空白符表示两个七。"
    "先在帧序列上合并重复，再去掉空白符。",
    "You removed every repeated label, not only consecutive repeats: 7 _ 7 is two sevens.": "你去掉了所有重复的标签，而不只是相邻的重复：7 _ 7 是两个七。",
    "Take the argmax over the labels (the last axis), one label per frame.": "在标签维度（最后一个维度）上取 argmax，每帧一个标签。",
    "Use the blank argument: the blank label is not always 0.": "请使用 blank 参数：空白标签并不总是 0。",
    "Return a list of Python ints, e.g. [3, 1, 4].": "返回一个由 Python int 组成的列表，例如 [3, 1, 4]。",
    "ctc_greedy_decode on a {shape} input with blank={blank} returned {got}, expected {want}.": "ctc_greedy_decode 在形状为 {shape}、blank={blank} 的输入上返回了 {got}，应为 {want}。",
    "ctc_greedy_decode on a {shape} input with blank={blank} returned {got}.": "ctc_greedy_decode 在形状为 {shape}、blank={blank} 的输入上返回了 {got}。",
    # the bare `what` (the two messages above say it better; this catches any other continuation)
    "ctc_greedy_decode on a {shape} input with blank=": "ctc_greedy_decode 的输入形状为 {shape}、blank=",
    "Take the argmax per frame, keep a label when it differs from the previous frame, then drop the blanks.": "每帧取 argmax；当标签与前一帧不同时才保留它；最后去掉空白符。",
    # passed()
    " cases, 12 to 80 filters": " 个用例，12 到 80 个滤波器",
    " cases, batched and silent input included": " 个用例，包括批量输入和静音输入",
    " cases, checked against torch.nn.Conv1d": " 个用例，与 torch.nn.Conv1d 核对",
    " cases, repeated digits and a blank that is not 0": " 个用例，包括重复的数字和不为 0 的空白标签",
}
