using System.Text.Json;
using FineTuning.Models;
using static FineTuning.Tests.TensorAssert;
using static TorchSharp.torch;

namespace FineTuning.Tests.Models.Bert;

/// <summary>
/// The re-implementation's proof (minGPT's test_huggingface_import): the classification model HF produced by the
/// head swap (fixtures/seqcls-model) gives HF's logits, pooler output, hidden states and losses for MRPC dev 0..7.
/// </summary>
public class BertParityTests
{
    [FixtureTheory]
    [InlineData("eager")]
    [InlineData("sdpa")]
    public void Forward_Matches_Hugging_Face_Reference(string attnImplementation)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path("fixtures", "forward_reference.json")));
        var r = json.RootElement;
        using var model = AutoModelForSequenceClassification.FromPretrained(SharedFixtures.Path("fixtures", "seqcls-model"),
                                                                             attnImplementation: attnImplementation);
        Assert.Empty(model.LoadingInfo!.MissingKeys);
        Assert.Empty(model.LoadingInfo.UnexpectedKeys);
        Assert.False(model.training); // FromPretrained returns eval mode, as HF does

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var inputIds = LongMatrix(r.GetProperty("input_ids"));            // (8, 74)
        var tokenTypeIds = LongMatrix(r.GetProperty("token_type_ids"));
        var attentionMask = LongMatrix(r.GetProperty("attention_mask"));
        var labels = tensor(Longs(r.GetProperty("labels")));             // (8)
        Assert.Equal(new long[] { 8, 74 }, inputIds.shape);

        var output = model.forward(inputIds, attentionMask, tokenTypeIds, labels, outputHiddenStates: true);

        Close(Floats(r.GetProperty("logits")), output.Logits, "logits");
        Close(Floats(r.GetProperty("probabilities")), nn.functional.softmax(output.Logits, -1), "probabilities");
        Close(Floats(r.GetProperty("loss")), output.Loss!, "loss");
        Close(Floats(r.GetProperty("per_example_loss")),
              nn.functional.cross_entropy(output.Logits, labels, reduction: nn.Reduction.None), "per_example_loss");
        Close(Floats(r.GetProperty("pooler_output_ex0")), output.PoolerOutput![0], "pooler_output[0]");
        Close(Floats(r.GetProperty("last_hidden_state_ex0")), output.HiddenStates![^1][0], "last_hidden_state[0]");
        var hidden = r.GetProperty("hidden_states_ex0");
        Assert.Equal(hidden.GetArrayLength(), output.HiddenStates.Count);
        for (int i = 0; i < output.HiddenStates.Count; i++)
            Close(Floats(hidden[i]), output.HiddenStates[i][0], $"hidden_states[{i}][0]");
        Assert.Equal(Longs(r.GetProperty("predictions")), output.Logits.argmax(-1).data<long>().ToArray());
    }

    [FixtureFact]
    public void Sdpa_And_Eager_Agree_With_Padding()
    {
        using var model = AutoModelForSequenceClassification.FromPretrained(SharedFixtures.Path("fixtures", "seqcls-model"));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        manual_seed(1);
        var ids = randint(1000, 2000, [3, 11]);
        var mask = ones_like(ids);
        mask[1, TensorIndex.Slice(6)] = 0; // padded tail
        model.AttnImplementation = "sdpa";
        var sdpa = model.forward(ids, mask).Logits;
        model.AttnImplementation = "eager";
        var eager = model.forward(ids, mask).Logits;
        Close(eager.data<float>().ToArray(), sdpa, "sdpa vs eager logits", rtol: 1e-5, atol: 1e-6);
    }
}
