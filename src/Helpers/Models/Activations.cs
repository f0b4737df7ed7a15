using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>HF <c>activations.ACT2FN</c>: the activation named by a config's <c>hidden_act</c>.</summary>
public static class Activations
{
    /// <summary>The names <see cref="Get"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Names = ["gelu", "gelu_new", "gelu_python", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish", "tanh"];

    /// <exception cref="ArgumentException">for a name HF does not define for BERT (the message lists the known ones).</exception>
    public static Func<Tensor, Tensor> Get(string name) => name switch
    {
        // Exact erf GELU (torch.nn.functional.gelu): BERT's own.
        "gelu" => x => nn.functional.gelu(x),
        // GPT-2 / Google BERT repo tanh approximation, written out as HF's NewGELUActivation does.
        "gelu_new" => x => 0.5 * x * (1.0 + tanh(Math.Sqrt(2.0 / Math.PI) * (x + 0.044715 * pow(x, 3.0)))),
        "gelu_python" => x => x * 0.5 * (1.0 + erf(x / Math.Sqrt(2.0))),
        "gelu_pytorch_tanh" => x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "gelu_fast" => x => 0.5 * x * (1.0 + tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
        "relu" => x => nn.functional.relu(x),
        "silu" or "swish" => x => nn.functional.silu(x),
        "tanh" => x => tanh(x),
        _ => throw new ArgumentException($"Unknown activation '{name}'. Known: {string.Join(", ", Names)}.", nameof(name)),
    };
}
