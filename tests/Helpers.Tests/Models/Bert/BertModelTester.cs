using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.SafeTensors;
using static TorchSharp.torch;

namespace FineTuning.Tests.Models.Bert;

/// <summary>
/// HF's BertModelTester: a tiny config (vocab 99, hidden 32, 2 layers, 4 heads, batch 13, seq 7) checks every
/// head's shapes, losses and key names fast, without any fixture.
/// </summary>
public class BertModelTester
{
    const int Batch = 13, Seq = 7;

    internal static BertConfig TinyConfig(int numLabels = 2) => new BertConfig
    {
        VocabSize = 99, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 37,
        HiddenAct = "gelu", MaxPositionEmbeddings = 512, TypeVocabSize = 16, InitializerRange = 0.02,
    }.WithNumLabels(numLabels);

    static (Tensor Ids, Tensor Mask, Tensor Types) Inputs()
    {
        var ids = randint(0, 99, [Batch, Seq]);
        var mask = randint(0, 2, [Batch, Seq]);
        mask[TensorIndex.Colon, 0] = 1; // every row has at least one real token
        return (ids, mask, randint(0, 16, [Batch, Seq]));
    }

    [Fact]
    public void BertModel_Output_Shapes()
    {
        manual_seed(0);
        using var model = new BertModel(TinyConfig());
        using var scope = NewDisposeScope();
        var (ids, mask, types) = Inputs();
        var output = model.forward(ids, mask, types, outputHiddenStates: true);
        Assert.Equal(new long[] { Batch, Seq, 32 }, output.LastHiddenState.shape);
        Assert.Equal(new long[] { Batch, 32 }, output.PoolerOutput.shape);
        Assert.Equal(3, output.HiddenStates!.Count); // embeddings + 2 layers
    }

    [Fact]
    public void State_Dict_Keys_Are_Hugging_Faces()
    {
        using var model = new BertForSequenceClassification(TinyConfig());
        var keys = model.state_dict().Keys.ToHashSet();
        string[] expected =
        [
            "bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
            "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.bias",
            .. Enumerable.Range(0, 2).SelectMany(i => new[]
            {
                "attention.self.query.weight", "attention.self.query.bias", "attention.self.key.weight", "attention.self.key.bias",
                "attention.self.value.weight", "attention.self.value.bias", "attention.output.dense.weight", "attention.output.dense.bias",
                "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias", "intermediate.dense.weight",
                "intermediate.dense.bias", "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias",
            }.Select(k => $"bert.encoder.layer.{i}.{k}")),
            "bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias",
        ];
        Assert.Equal(expected.Order(), keys.Order());
    }

    [Fact]
    public void Init_Weights_Follows_HF()
    {
        manual_seed(0);
        using var model = new BertForSequenceClassification(TinyConfig() with { VocabSize = 5000, HiddenSize = 64, IntermediateSize = 256 });
        var sd = model.state_dict();
        Assert.True(sd["bert.embeddings.word_embeddings.weight"][0].eq(0).all().item<bool>()); // [PAD] row
        Assert.True(sd["bert.embeddings.LayerNorm.weight"].eq(1).all().item<bool>());
        Assert.True(sd["classifier.bias"].eq(0).all().item<bool>());
        double std = sd["bert.embeddings.word_embeddings.weight"][TensorIndex.Slice(1)].std().item<float>();
        Assert.InRange(std, 0.019, 0.021); // N(0, initializer_range)
    }

    [Theory]
    [InlineData(1, "regression")]
    [InlineData(3, "single_label_classification")]
    [InlineData(3, "multi_label_classification")]
    public void Sequence_Classification_Loss_Follows_Problem_Type(int numLabels, string problemType)
    {
        manual_seed(0);
        using var model = new BertForSequenceClassification(TinyConfig(numLabels));
        model.eval();
        using var scope = NewDisposeScope();
        var (ids, mask, types) = Inputs();
        var labels = problemType switch
        {
            "regression" => rand(Batch),
            "single_label_classification" => randint(0, numLabels, [Batch]),
            _ => randint(0, 2, [Batch, numLabels]).to_type(ScalarType.Float32),
        };
        var output = model.forward(ids, mask, types, labels);
        Assert.Equal(new long[] { Batch, numLabels }, output.Logits.shape);
        Assert.Equal(problemType, model.ProblemType); // inferred from num_labels and the labels' dtype, as HF does
        var expected = problemType switch
        {
            "regression" => nn.functional.mse_loss(output.Logits.squeeze(), labels),
            "single_label_classification" => nn.functional.cross_entropy(output.Logits, labels),
            _ => nn.functional.binary_cross_entropy_with_logits(output.Logits, labels),
        };
        Assert.Equal(expected.item<float>(), output.Loss!.item<float>(), 6);
    }

    [Fact]
    public void Padding_Does_Not_Change_The_Real_Tokens_Outputs()
    {
        manual_seed(0);
        using var model = new BertForSequenceClassification(TinyConfig());
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = randint(1, 99, [1, 5]);
        var padded = cat([ids, zeros(1, 3, dtype: ScalarType.Int64)], 1);
        var mask = cat([ones(1, 5, dtype: ScalarType.Int64), zeros(1, 3, dtype: ScalarType.Int64)], 1);
        var short_ = model.forward(ids).Logits;
        var long_ = model.forward(padded, mask).Logits;
        Assert.True(short_.allclose(long_, rtol: 1e-5, atol: 1e-6), "the attention mask must hide padded keys");
    }

    [Fact]
    public void Save_Then_Load_Gives_Identical_Logits_And_HF_Files()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"save-{Guid.NewGuid():N}");
        try
        {
            manual_seed(0);
            using var model = new BertForSequenceClassification(TinyConfig(3));
            model.eval();
            model.SavePretrained(folder);
            Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(folder).Select(Path.GetFileName).Order());
            using (var file = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors")))
            {
                Assert.Equal(model.state_dict().Keys.Order(), file.Names.Order());
                Assert.Equal("pt", file.Metadata!["format"]);
            }
            var config = BertConfig.FromPretrained(folder);
            Assert.Equal(["BertForSequenceClassification"], config.Architectures!);
            Assert.Equal(3, config.NumLabels);

            using var loaded = AutoModelForSequenceClassification.FromPretrained(folder);
            Assert.Empty(loaded.LoadingInfo!.MissingKeys);
            Assert.Empty(loaded.LoadingInfo.UnexpectedKeys);
            Assert.Empty(loaded.LoadingInfo.Warnings);
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var (ids, mask, types) = Inputs();
            TensorAssert.Identical(model.forward(ids, mask, types).Logits, loaded.forward(ids, mask, types).Logits);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, true);
        }
    }

    [Fact]
    public void A_Few_Adam_Steps_Lower_The_Loss()
    {
        manual_seed(0);
        using var model = new BertForSequenceClassification(TinyConfig());
        model.train();
        var (ids, mask, types) = Inputs();
        var labels = randint(0, 2, [Batch]);
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3);
        float first = 0, last = 0;
        for (int step = 0; step < 20; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = model.forward(ids, mask, types, labels).Loss!;
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first * 0.5, $"loss went from {first} to {last}");
    }
}
