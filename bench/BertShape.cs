using FineTuning.Models.Bert;

namespace FineTuning.Benchmarks;

/// <summary>The two model shapes of the benchmark, as pytorch_step.py names them.</summary>
/// <param name="Name">"tiny" or "base" (pytorch_step.py's --shape)</param>
public sealed record BertShape(string Name, int Layers, int Hidden, int Heads, int Intermediate, int Vocab = 30522)
{
    public static readonly BertShape Tiny = new("tiny", 2, 128, 2, 512);
    public static readonly BertShape Base = new("base", 12, 768, 12, 3072);

    public string Label => $"bert-{Name} (L{Layers} H{Hidden} A{Heads} I{Intermediate})";

    public BertConfig Config() => new()
    {
        NumHiddenLayers = Layers, HiddenSize = Hidden, NumAttentionHeads = Heads, IntermediateSize = Intermediate, VocabSize = Vocab,
    };

    /// <summary>
    /// FLOPs of one training step (forward + backward) over a batch×seq block: 6 × (weights in matmuls) × tokens
    /// for the encoder's six linear layers per block, plus the attention products (QKᵀ and P·V: 2 × 2·b·T²·H forward,
    /// ×3 with backward), plus pooler and classifier on the [CLS] rows only. Padding tokens count: they are computed.
    /// </summary>
    public double TrainStepFlops(int batch, int seq)
    {
        double tokens = (double)batch * seq;
        double encoderWeights = Layers * (4.0 * Hidden * Hidden + 2.0 * Hidden * Intermediate);
        double attention = Layers * 3 * (2 * 2.0 * batch * seq * seq * Hidden);
        double head = 6.0 * batch * (Hidden * (double)Hidden + Hidden * 2.0);
        return 6 * encoderWeights * tokens + attention + head;
    }
}
