using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>HF <c>BertModel</c>: embeddings → encoder → pooler. The body every BERT head shares.</summary>
public sealed class BertModel : BertPreTrainedModel
{
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler? pooler;

    /// <param name="config">the architecture.</param>
    /// <param name="addPoolingLayer">false drops the pooler (HF's add_pooling_layer), as token-level heads do.</param>
    /// <exception cref="ArgumentException">The model would not fit in this machine's memory (an absurd size in the config).</exception>
    public BertModel(BertConfig config, bool addPoolingLayer = true) : base(nameof(BertModel), config)
    {
        BertWeightShapes.EnsureFitsInMemory(config, addPoolingLayer, configPath: null);
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        pooler = addPoolingLayer ? new BertPooler(config) : null;
        RegisterComponents();
        PostInit();
    }

    public override BertModel BaseModel => this;
    public BertEmbeddings Embeddings => embeddings;
    public BertEncoder Encoder => encoder;

    /// <summary>Loads a BertModel from a folder (a full checkpoint's <c>bert.*</c> weights, or a bare one).</summary>
    public static BertModel FromPretrained(string folder, bool ignoreMismatchedSizes = false)
        => FromPretrained(folder, BertConfig.FromPretrained(folder), ignoreMismatchedSizes);

    /// <summary>Loads a BertModel from a folder with the given configuration (prefer <see cref="AutoModel.FromPretrained"/>).</summary>
    public static BertModel FromPretrained(string folder, BertConfig config, bool ignoreMismatchedSizes = false)
        => FromPretrained(folder, config, c => new BertModel(c), ignoreMismatchedSizes);

    /// <param name="inputIds">(batch, seq) int64.</param>
    /// <param name="attentionMask">(batch, seq), 1 for real tokens and 0 for padding; all ones when null.</param>
    /// <param name="tokenTypeIds">(batch, seq) segment ids; zeros when null.</param>
    /// <param name="positionIds">(batch or 1, seq); 0..seq-1 when null.</param>
    /// <param name="outputHiddenStates">also return the embeddings output and every layer's output.</param>
    public BaseModelOutputWithPooling forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null,
                                              Tensor? positionIds = null, bool outputHiddenStates = false)
    {
        var hidden = embeddings.forward(inputIds, tokenTypeIds, positionIds); // (batch, seq, hidden)
        var additiveMask = attentionMask is null ? null : ExtendedAttentionMask(attentionMask, hidden.dtype);
        var all = outputHiddenStates ? new List<Tensor> { hidden } : null;
        var last = encoder.forward(hidden, additiveMask, all);
        var pooled = pooler?.forward(last);
        return new BaseModelOutputWithPooling(last, pooled!, all);
    }

    /// <summary>
    /// HF <c>get_extended_attention_mask</c>: (batch, seq) of 1/0 → (batch, 1, 1, seq) of 0 / dtype's most negative,
    /// added to the attention scores so padded keys get zero weight after softmax.
    /// </summary>
    public static Tensor ExtendedAttentionMask(Tensor attentionMask, ScalarType dtype)
    {
        var extended = attentionMask.unsqueeze(1).unsqueeze(2).to_type(dtype); // (batch, 1, 1, seq)
        return (1.0 - extended) * finfo(dtype).min;
    }
}
