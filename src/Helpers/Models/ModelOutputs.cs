using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>HF <c>BaseModelOutputWithPoolingAndCrossAttentions</c>, the parts BERT fills.</summary>
/// <param name="LastHiddenState">(batch, seq, hidden): the encoder's last layer.</param>
/// <param name="PoolerOutput">(batch, hidden): tanh(dense(first token)).</param>
/// <param name="HiddenStates">when asked for: embeddings output, then each layer's output, each (batch, seq, hidden).</param>
public sealed record BaseModelOutputWithPooling(Tensor LastHiddenState, Tensor PoolerOutput, IReadOnlyList<Tensor>? HiddenStates = null);

/// <summary>HF <c>SequenceClassifierOutput</c>.</summary>
/// <param name="Loss">scalar, when labels were given (MSE, cross-entropy or BCE-with-logits by problem type).</param>
/// <param name="Logits">(batch, num_labels), before softmax.</param>
/// <param name="HiddenStates">as in <see cref="BaseModelOutputWithPooling"/>, when asked for.</param>
/// <param name="PoolerOutput">(batch, hidden): what the classifier saw (before dropout).</param>
public sealed record SequenceClassifierOutput(Tensor? Loss, Tensor Logits, IReadOnlyList<Tensor>? HiddenStates = null, Tensor? PoolerOutput = null);
