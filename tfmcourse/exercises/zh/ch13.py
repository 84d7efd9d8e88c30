"""Chinese versions of the messages of ``tfmcourse.exercises.ch13`` (CLIP)."""

HINTS = {
    # clip_loss
    "Return one number: the mean of the two cross-entropies, a 0-dimensional tensor.": "请返回一个数：两个交叉熵的平均，一个 0 维张量。",
    "The features are not normalised: divide each image and each text feature by its length (norm over the "
    "last axis) before the dot products, so that the similarity is a cosine.": "特征没有归一化：在做点积之前，把每个图像特征和每个文本特征除以它的长度（在最后一个维度上求范数），"
    "使相似度成为余弦。",
    "Only one direction: you have the image-to-text cross-entropy (rows); CLIP's loss is the mean of it and "
    "the text-to-image one (the columns: cross-entropy of the transposed logits).": "只有一个方向：你算的是图像到文本的交叉熵（按行）；CLIP 的损失是它与文本到图像的交叉熵"
    "（按列：对转置后的 logits 求交叉熵）的平均。",
    "Only one direction: you have the text-to-image cross-entropy (columns); CLIP's loss is the mean of it and "
    "the image-to-text one (the rows).": "只有一个方向：你算的是文本到图像的交叉熵（按列）；CLIP 的损失是它与图像到文本的交叉熵（按行）的平均。",
    "The two cross-entropies are added: CLIP takes their mean, (loss_images + loss_texts) / 2.": "两个交叉熵被加在了一起：CLIP 取的是它们的平均，(loss_images + loss_texts) / 2。",
    "logit_scale is the log of the scale: multiply the cosines by logit_scale.exp(), not by logit_scale.": "logit_scale 是缩放的对数：要把余弦乘以 logit_scale.exp()，而不是乘以 logit_scale。",
    "The cosines are divided by the scale: logit_scale = log(1 / temperature), so multiply them by "
    "logit_scale.exp() (the same as dividing by the temperature).": "余弦被除以了缩放：logit_scale = log(1 / temperature)，所以应把它们乘以 logit_scale.exp()（等同于除以温度）。",
    "The cosines are not scaled: multiply them by logit_scale.exp() before the cross-entropies.": "余弦没有缩放：在求交叉熵之前把它们乘以 logit_scale.exp()。",
    "The cross-entropies are summed over the batch: average them over the pairs (F.cross_entropy's default).": "交叉熵在批次上求了和：应在各数据对上取平均（F.cross_entropy 的默认做法）。",
    "Normalise both feature sets, logits = logit_scale.exp() * images @ texts.T, targets 0..n-1, and average "
    "the cross-entropies of the rows and of the columns.": "把两组特征都归一化，logits = logit_scale.exp() * images @ texts.T，目标为 0..n-1，"
    "再对按行和按列的两个交叉熵取平均。",
    "clip_loss on {n} pairs of {d}-dim features (logit_scale {scale})": "clip_loss（{n} 对 {d} 维特征，logit_scale {scale}）",
    " returned a {kind}.": " 返回了一个 {kind}。",
    " has shape {shape}.": " 的形状为 {shape}。",
    " batches, both directions, temperature from logit_scale": " 个批次，两个方向，温度取自 logit_scale",
    # zero_shot_classify
    "Return the predicted class of every image: an integer tensor of shape (n_images,).": "请返回每张图像的预测类别：一个形状为 (n_images,) 的整数张量。",
    "The text features are not normalised: a caption whose feature is longer would win for every image. "
    "Divide each text feature by its norm (the image's norm does not change which class wins, but it is "
    "good practice too).": "文本特征没有归一化：特征更长的那句描述会对每张图像都胜出。请把每个文本特征除以它的范数"
    "（图像的范数不会改变哪个类别胜出，但归一化它也是好习惯）。",
    "You picked the least similar caption: the class is the one with the largest cosine similarity.": "你选的是最不相似的描述：类别应是余弦相似度最大的那一个。",
    "A softmax over the images (axis 0) changes which class wins: for each image compare its similarities "
    "with the classes (one row), with no normalisation across images.": "在图像上（第 0 维）做 softmax 会改变哪个类别胜出：对每张图像，比较它与各类别的相似度（一行），"
    "不要跨图像做归一化。",
    "The argmax is over the wrong axis: the similarity matrix is (n_images, n_classes); take the argmax over "
    "the classes (dim=1), one answer per image.": "argmax 用错了维度：相似度矩阵是 (n_images, n_classes)；应在类别上（dim=1）取 argmax，每张图像一个答案。",
    "Encode the images and the class captions, normalise both, take the cosine similarity matrix "
    "(n_images, n_classes) and its argmax over the classes.": "编码图像和各类别的描述，把两者都归一化，得到余弦相似度矩阵 (n_images, n_classes)，再在类别上取 argmax。",
    "zero_shot_classify of {n} images into {k} classes": "zero_shot_classify（把 {n} 张图像分为 {k} 类）",
    " returned a {shape} tensor of scores.": " 返回了一个 {shape} 的分数张量。",
    " returned {kind} of dtype {dtype}.": " 返回了 dtype 为 {dtype} 的 {kind}。",
    " returned {kind}.": " 返回了 {kind}。",
    " returned shape {shape}.": " 返回的形状为 {shape}。",
    ": {wrong} of {total} predictions differ from the answer (got {got}, expected {want}).": "：{total} 个预测中有 {wrong} 个与答案不同（得到 {got}，应为 {want}）。",
    " cases, captions of different lengths and feature norms": " 个用例，描述的长度和特征范数各不相同",
    # eot_pool
    "You read every text at its last position, which is padding for the shorter texts: read it at the first "
    "position where ids == eot_id.": "你在每段文本的最后一个位置读出，而对较短的文本那里是填充：应在 ids == eot_id 的第一个位置读出。",
    "You read the text at the largest id (ids.argmax), the original CLIP's shortcut, which works only when "
    "the EOT token has the largest id in the vocabulary. Find the first position where ids == eot_id.": "你在 id 最大的位置（ids.argmax）读出文本，这是最初 CLIP 的捷径，只有当 EOT 词元是词表中 id 最大的词元时才有效。"
    "请找出 ids == eot_id 的第一个位置。",
    "You averaged over the tokens: CLIP reads the one output vector at the end-of-text token.": "你对各个词元取了平均：CLIP 读取的是文本结束词元处的那一个输出向量。",
    "You read the first position (the start token), which has seen nothing of the text in a causal model.": "你读的是第一个位置（起始词元），在因果模型中它对文本一无所见。",
    "A text with two EOT tokens must be read at the first one (everything after it is not part of the text).": "有两个 EOT 词元的文本必须在第一个处读出（它之后的一切都不属于这段文本）。",
    "For each row, find the first position where ids == eot_id and take states[row, that position].": "对每一行，找出 ids == eot_id 的第一个位置，取 states[row, 该位置]。",
    "eot_pool of states {shape} with eot_id": "eot_pool 作用于形状为 {shape} 的 states，eot_id",
    " batches, padding after the EOT, EOT ids smaller than the words": " 个批次，EOT 之后有填充，EOT 的 id 比词的 id 小",
}
