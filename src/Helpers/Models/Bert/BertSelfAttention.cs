using FineTuning.Amp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>HF <c>BertSelfAttention</c>: multi-head scaled dot-product attention over the whole sequence.</summary>
public sealed class BertSelfAttention : nn.Module
{
    // Typed as any Tensor → Tensor module and not readonly: PEFT swaps a Linear for a LoRA layer in place
    // (FineTuning.Peft.ModuleSurgery.SetSubmodule). The constructor still builds our Linear.
    private nn.Module<Tensor, Tensor> query;
    private nn.Module<Tensor, Tensor> key;
    private nn.Module<Tensor, Tensor> value;
    private readonly Dropout dropout;
    private readonly int numHeads;
    private readonly int headSize;
    private readonly double dropoutProb;

    public BertSelfAttention(BertConfig config) : base(nameof(BertSelfAttention))
    {
        numHeads = config.NumAttentionHeads;
        headSize = config.HiddenSize / config.NumAttentionHeads;
        dropoutProb = config.AttentionProbsDropoutProb;
        query = new Linear(config.HiddenSize, config.HiddenSize);
        key = new Linear(config.HiddenSize, config.HiddenSize);
        value = new Linear(config.HiddenSize, config.HiddenSize);
        dropout = nn.Dropout(config.AttentionProbsDropoutProb);
        RegisterComponents();
    }

    /// <summary>
    /// "sdpa" (fused <c>scaled_dot_product_attention</c>) or "eager" (HF 4.26's explicit matmul-softmax-matmul).
    /// Both give HF's numbers (tests/…/BertParityTests); sdpa is faster and uses less memory.
    /// </summary>
    public string AttnImplementation { get; set; } = "sdpa";

    /// <param name="hiddenStates">(batch, seq, hidden)</param>
    /// <param name="additiveMask">(batch, 1, 1, seq): 0 for real keys, a large negative for padding; or null.</param>
    /// <returns>(batch, seq, hidden): the heads' context vectors, concatenated.</returns>
    public Tensor forward(Tensor hiddenStates, Tensor? additiveMask)
    {
        long batch = hiddenStates.shape[0], seq = hiddenStates.shape[1];
        Tensor SplitHeads(Tensor x) => x.view(batch, seq, numHeads, headSize).permute(0, 2, 1, 3); // (batch, heads, seq, head)

        var q = SplitHeads(query.forward(hiddenStates));
        var k = SplitHeads(key.forward(hiddenStates));
        var v = SplitHeads(value.forward(hiddenStates));

        Tensor context; // (batch, heads, seq, head)
        if (AttnImplementation == "sdpa")
        {
            // Under autocast q, k, v are already in the reduced dtype; the float mask must match them.
            var mask = additiveMask is null ? null : Autocast.Cast(additiveMask);
            context = nn.functional.scaled_dot_product_attention(q, k, v, mask, p: training ? dropoutProb : 0.0);
        }
        else
        {
            // Under autocast the products run reduced; adding the fp32 mask promotes the scores, so softmax is fp32.
            var scores = Autocast.Matmul(q, k.transpose(-1, -2)) / Math.Sqrt(headSize); // (batch, heads, seq, seq)
            if (additiveMask is not null) scores = scores + additiveMask;
            var probs = dropout.forward(nn.functional.softmax(scores, dim: -1));
            context = Autocast.Matmul(probs, v);
        }
        return context.permute(0, 2, 1, 3).reshape(batch, seq, numHeads * headSize);
    }
}
