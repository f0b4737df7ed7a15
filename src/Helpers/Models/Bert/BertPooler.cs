using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>HF <c>BertPooler</c>: tanh(dense(hidden state of the first token, [CLS])).</summary>
public sealed class BertPooler : nn.Module
{
    private readonly Linear dense;

    public BertPooler(BertConfig config) : base(nameof(BertPooler))
    {
        dense = new Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    /// <param name="hiddenStates">(batch, seq, hidden)</param>
    /// <returns>(batch, hidden)</returns>
    public Tensor forward(Tensor hiddenStates) => tanh(dense.forward(hiddenStates[.., 0]));
}
