using System.Text.Json;
using FineTuning.Data;
using FineTuning.Models;
using FineTuning.Tokenizers;
using static FineTuning.Tests.TensorAssert;
using static TorchSharp.torch;

namespace FineTuning.Tests.Data;

/// <summary>
/// Steps 1–3 of the lesson end to end, as the course writes them: load MRPC, tokenize pairs with a batched Map,
/// drop the text columns, batch with dynamic padding, run the head-swapped model. The first 8 validation rows
/// must give exactly the inputs HF built for forward_reference.json, and HF's logits.
/// </summary>
public class LessonPipelineTests
{
    [FixtureFact]
    public void Mrpc_Through_Tokenizer_Collator_And_Model_Reproduces_HFs_Batch_And_Logits()
    {
        var raw = Datasets.LoadDataset("glue", "mrpc", dataDir: SharedFixtures.Path("assets", "mrpc"));
        var tokenizer = AutoTokenizer.FromPretrained(SharedFixtures.Path("fixtures", "seqcls-model"));
        var tokenized = raw.Map(batch => tokenizer.Call(batch.Strings("sentence1"), batch.Strings("sentence2"), truncation: true), batched: true);
        var validation = tokenized["validation"].RemoveColumns("sentence1", "sentence2", "idx");
        Assert.Equal(["label", "input_ids", "token_type_ids", "attention_mask"], validation.ColumnNames);

        var loader = new DataLoader(validation, new DataCollatorWithPadding(tokenizer), batchSize: 8);
        Assert.Equal(51, loader.Count); // 408 / 8
        using var batch = loader.Batches().First();

        using var json = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path("fixtures", "forward_reference.json")));
        var r = json.RootElement;
        using var scope = NewDisposeScope();
        Identical(LongMatrix(r.GetProperty("input_ids")), batch.InputIds, "input_ids");
        Identical(LongMatrix(r.GetProperty("token_type_ids")), batch.TokenTypeIds!, "token_type_ids");
        Identical(LongMatrix(r.GetProperty("attention_mask")), batch.AttentionMask!, "attention_mask");
        Identical(tensor(Longs(r.GetProperty("labels"))), batch.Labels!, "labels");

        using var model = AutoModelForSequenceClassification.FromPretrained(SharedFixtures.Path("fixtures", "seqcls-model"));
        using var _ = no_grad();
        var output = model.forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds, batch.Labels);
        Close(Floats(r.GetProperty("logits")), output.Logits, "logits");
        Close(Floats(r.GetProperty("loss")), output.Loss!, "loss");
    }

    [FixtureFact]
    public void Dynamic_Padding_Processes_Far_Fewer_Tokens_Than_Max_Length_On_Mrpc()
    {
        var raw = Datasets.LoadDataset("glue", "mrpc", dataDir: SharedFixtures.Path("assets", "mrpc"));
        var tokenizer = AutoTokenizer.FromPretrained(SharedFixtures.Path("fixtures", "seqcls-model"));
        var train = raw["train"].Map(b => tokenizer.Call(b.Strings("sentence1"), b.Strings("sentence2"), truncation: true), batched: true);
        var lengths = train.Column<int[]>("input_ids").Select(ids => ids.Length).ToArray();
        var stats = PaddingStats.Compute(lengths, batchSize: 8, maxLength: 128, seed: 42);
        Assert.Equal(3668, stats.Examples);
        Assert.Equal(459, stats.Batches);
        Assert.True(stats.Saving > 1.5, stats.ToString()); // MRPC pairs average ~53 tokens
    }
}
