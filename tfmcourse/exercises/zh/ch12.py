"""Chinese versions of the messages of ``tfmcourse.exercises.ch12`` (ViT)."""

HINTS = {
    # patchify
    "The patches come out column by column: number them row by row (reading order), the patch row h "
    "before the patch column w: 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'.": "图像块是按列排出来的：应按行编号（阅读顺序），图像块的行 h 在列 w 之前："
    "'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'。",
    "Inside a patch the channels come first: flatten them innermost, (p1 p2 c), so that one pixel's "
    "colours are next to each other (the layout of Hugging Face's patch convolution after our rearrange).": "图像块内部把通道放在了最前面：应把通道放在最内层展平，即 (p1 p2 c)，使同一像素的各个颜色相邻"
    "（这正是 Hugging Face 的图像块卷积经过我们的 rearrange 之后的布局）。",
    "Inside a patch the pixels are flattened column by column: flatten row by row, (p1 p2 c) with p1 "
    "(the row inside the patch) first.": "图像块内部的像素是按列展平的：应按行展平，即 (p1 p2 c)，p1（图像块内的行）在前。",
    "A plain reshape/view cuts the image into strips of consecutive pixels, not into square patches: "
    "the pixels of one patch are not next to each other in memory. Split height and width, then "
    "permute (einops: 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)').": "直接 reshape/view 会把图像切成一条条连续像素，而不是正方形图像块：同一个图像块的像素在内存中并不相邻。"
    "先拆分高和宽，再重排维度（einops：'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'）。",
    # cls_and_positions
    "[CLS] is put after the patches: it goes in front, at position 0 (torch.cat([cls, patches], dim=1)).": "[CLS] 被放在了图像块后面：它应该在最前面，位于位置 0（torch.cat([cls, patches], dim=1)）。",
    "[CLS] gets no position vector (or the patches get the wrong rows): add all 1 + patches rows of "
    "pos_embed to the sequence *after* putting [CLS] in front.": "[CLS] 没有得到位置向量（或者图像块得到了错误的行）：先把 [CLS] 放在最前面，*再*把 pos_embed 的全部 "
    "1 + patches 行加到序列上。",
    "The position embeddings are not added: add pos_embed (one row per position) to the sequence.": "没有加位置嵌入：把 pos_embed（每个位置一行）加到序列上。",
    "[CLS] is missing: put cls_token, expanded to (batch, 1, d_model), in front of the patches.": "缺少 [CLS]：把 cls_token 扩展为 (batch, 1, d_model)，放在图像块前面。",
    "cls_token was *added* to every patch: it is an extra vector put in front, making 1 + patches positions.": "cls_token 被*加*到了每个图像块上：它是放在最前面的一个额外向量，使位置总数变成 1 + patches。",
    "[cls_token expanded to (batch, 1, d), patch_vectors]": "[扩展为 (batch, 1, d) 的 cls_token, patch_vectors]",
    # vit_forward
    "The final LayerNorm is missing: apply vit.norm after the last layer.": "缺少最后的 LayerNorm：在最后一层之后应用 vit.norm。",
    "vit.norm is applied before the layers: it is the *final* LayerNorm, after the last layer.": "vit.norm 被用在了各层之前：它是*最后*的 LayerNorm，应放在最后一层之后。",
    "The encoder layers are skipped: run the sequence through every layer of vit.layers, in order.": "跳过了编码器层：让序列按顺序经过 vit.layers 的每一层。",
    "Only one layer was applied: run the sequence through every layer of vit.layers, in order.": "只应用了一层：让序列按顺序经过 vit.layers 的每一层。",
    "Return the whole sequence (batch, 1 + patches, d_model), not only the [CLS] vector.": "返回整个序列 (batch, 1 + patches, d_model)，而不只是 [CLS] 向量。",
    "The position embeddings are not added: vit.pos_embed goes onto [CLS] and the patch vectors.": "没有加位置嵌入：vit.pos_embed 要加到 [CLS] 和各图像块向量上。",
    "[CLS] is missing: put vit.cls_token in front of the embedded patches.": "缺少 [CLS]：把 vit.cls_token 放在嵌入后的图像块前面。",
    "The patches are not embedded: apply vit.patch_embed (a linear layer) to the flattened patches.": "图像块没有经过嵌入：对展平的图像块应用 vit.patch_embed（一个线性层）。",
    "vit with patch_size={size})": "patch_size={size} 的 vit)",
    "[CLS] in front -> + vit.pos_embed -> each layer of vit.layers -> vit.norm.": "前面放上 [CLS] -> + vit.pos_embed -> vit.layers 的每一层 -> vit.norm。",
    "Write it yourself, without vit.{name}: this exercise builds what that method does from the parts. "
    "(`{fn}` called it.)": "请自己写，不要调用 vit.{name}：这道练习要用各个部件构建出那个方法所做的事。（`{fn}` 调用了它。）",
    # passed()
    " cases, 1 to 3 channels": " 个用例，1 到 3 个通道",
    " cases": " 个用例",
    "two ViTs, 1 and 3 channels": "两个 ViT，1 个和 3 个通道",
}
