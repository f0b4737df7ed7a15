using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>HF <c>BertEmbeddings</c>: word + token-type + absolute position embeddings, then LayerNorm and dropout.</summary>
public sealed class BertEmbeddings : nn.Module
{
    // Field names are the checkpoint keys (bert.embeddings.word_embeddings.weight, ...), declared in HF's order so
    // that construction draws from the random generator exactly as HF's __init__ does.
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly Embedding token_type_embeddings;
    // Not PascalCase for a reason: HF keeps the TensorFlow name "LayerNorm" so that old checkpoints still load.
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public BertEmbeddings(BertConfig config) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <summary>The token embedding matrix (vocab, hidden).</summary>
    public Embedding WordEmbeddings => word_embeddings;

    /// <param name="inputIds">(batch, seq) int64 token ids.</param>
    /// <param name="tokenTypeIds">(batch, seq) segment ids (0 = first sentence, 1 = second); zeros when null.</param>
    /// <param name="positionIds">(batch or 1, seq); 0..seq-1 when null.</param>
    /// <returns>(batch, seq, hidden)</returns>
    public Tensor forward(Tensor inputIds, Tensor? tokenTypeIds = null, Tensor? positionIds = null)
    {
        long seqLength = inputIds.shape[1];
        positionIds ??= arange(seqLength, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0); // (1, seq)
        tokenTypeIds ??= zeros_like(inputIds);
        // HF's order of additions (words + types, then positions): float sums depend on it.
        var embeddings = word_embeddings.forward(inputIds) + token_type_embeddings.forward(tokenTypeIds); // (batch, seq, hidden)
        embeddings = embeddings + position_embeddings.forward(positionIds);
        return dropout.forward(LayerNorm.forward(embeddings));
    }
}
