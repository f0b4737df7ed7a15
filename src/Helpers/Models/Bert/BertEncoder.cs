using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>HF <c>BertEncoder</c>: the stack of <see cref="BertLayer"/> (keys <c>encoder.layer.{i}.*</c>).</summary>
public sealed class BertEncoder : nn.Module
{
    private readonly ModuleList<BertLayer> layer;

    public BertEncoder(BertConfig config) : base(nameof(BertEncoder))
    {
        layer = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    public IList<BertLayer> Layers => layer;

    /// <param name="hiddenStates">(batch, seq, hidden) the embeddings.</param>
    /// <param name="additiveMask">(batch, 1, 1, seq) or null.</param>
    /// <param name="allHiddenStates">when not null, receives each layer's output (batch, seq, hidden).</param>
    /// <returns>(batch, seq, hidden) the last layer's output.</returns>
    public Tensor forward(Tensor hiddenStates, Tensor? additiveMask, List<Tensor>? allHiddenStates = null)
    {
        foreach (var block in layer)
        {
            hiddenStates = block.forward(hiddenStates, additiveMask);
            allHiddenStates?.Add(hiddenStates);
        }
        return hiddenStates;
    }
}
