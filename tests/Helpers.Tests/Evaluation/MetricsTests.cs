using FineTuning.Evaluation;

namespace FineTuning.Tests.Evaluation;

public class MetricsTests
{
    [Fact]
    public void Binary_Scores_By_Hand()
    {
        int[] predictions = [1, 1, 0, 1, 0], references = [1, 0, 0, 1, 1]; // TP 2, FP 1, FN 1, TN 1
        Assert.Equal(0.6, Metrics.Accuracy(predictions, references), 12);
        Assert.Equal(2.0 / 3, Metrics.Precision(predictions, references), 12);
        Assert.Equal(2.0 / 3, Metrics.Recall(predictions, references), 12);
        Assert.Equal(2.0 / 3, Metrics.F1(predictions, references), 12);
        Assert.Equal(0, Metrics.F1([0, 0], [0, 0]), 12); // no positives at all: 0, as scikit-learn's zero_division
    }

    [Fact]
    public void Multi_Class_Averages_Match_Scikit_Learns_Documented_Example()
    {
        // sklearn.metrics.f1_score / precision_score docs: y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1]
        int[] references = [0, 1, 2, 0, 1, 2], predictions = [0, 2, 1, 0, 0, 1];
        Assert.Equal(0.26666666666666666, Metrics.F1(predictions, references, Average.Macro), 12);
        Assert.Equal(0.3333333333333333, Metrics.F1(predictions, references, Average.Micro), 12);
        Assert.Equal(0.26666666666666666, Metrics.F1(predictions, references, Average.Weighted), 12);
        Assert.Equal(0.2222222222222222, Metrics.Precision(predictions, references, Average.Macro), 12);
        Assert.Equal(0.3333333333333333, Metrics.Recall(predictions, references, Average.Macro), 12);
    }

    [Fact]
    public void Matthews_Correlation_Matches_Scikit_Learns_Documented_Example()
    {
        Assert.Equal(-0.3333333333333333, Metrics.MatthewsCorrelation([1, -1, 1, 1], [1, 1, 1, -1]), 12);
        Assert.Equal(1.0, Metrics.MatthewsCorrelation([0, 1, 2, 1], [0, 1, 2, 1]), 12);
        Assert.Equal(0.0, Metrics.MatthewsCorrelation([1, 1, 1], [0, 1, 0]), 12); // constant prediction
    }

    [Fact]
    public void Pearson_And_Spearman()
    {
        Assert.Equal(5 / Math.Sqrt(2 * 114.0 / 9), Metrics.Pearson([1, 2, 3], [2, 4, 7]), 12);
        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) = 0.8207826816681233 (ties get average ranks)
        Assert.Equal(0.8207826816681233, Metrics.Spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 12);
    }

    [Fact]
    public void Glue_Metric_Returns_What_Evaluate_Returns_Per_Task()
    {
        // 4 examples, logits for 2 classes: argmax = [1, 0, 1, 1]; labels [1, 0, 0, 1] -> accuracy 0.75, f1 0.8
        var p = new EvalPrediction([0.1f, 0.9f, 2f, -1f, 0.2f, 0.3f, -3f, 3f], [1, 0, 0, 1], NumLabels: 2);
        var mrpc = GlueMetric.For("mrpc")(p);
        Assert.Equal(["accuracy", "f1"], mrpc.Keys.Order());
        Assert.Equal(0.75, mrpc["accuracy"], 12);
        Assert.Equal(0.8, mrpc["f1"], 12);
        Assert.Equal(["matthews_correlation"], GlueMetric.For("cola")(p).Keys);
        Assert.Equal(["accuracy"], GlueMetric.For("sst2")(p).Keys);
        var stsb = GlueMetric.For("stsb")(new EvalPrediction([1f, 2f, 3f], [2, 4, 7], NumLabels: 1));
        Assert.Equal(["pearson", "spearmanr"], stsb.Keys.Order());
        Assert.Equal(1.0, stsb["spearmanr"], 12);
        Assert.Contains("mrpc", Assert.Throws<ArgumentException>(() => GlueMetric.For("mrcp")).Message);
    }

    /// <summary>HF's own Trainer run on this machine (../shared/bench/hf_trainer_baseline.json, evaluate's glue/mrpc, i.e.
    /// scikit-learn) reports eval_accuracy and eval_f1 for the fixture model, which predicts "paraphrase" for every dev
    /// pair: the same predictions over the real MRPC dev labels must give exactly its numbers.</summary>
    [FixtureFact("bench", "hf_trainer_baseline.json")]
    public void Mrpc_Metric_Equals_Hfs_Reported_Values_For_The_Same_Predictions()
    {
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path("bench", "hf_trainer_baseline.json")));
        var evals = json.RootElement.GetProperty("runs").EnumerateObject()
            .SelectMany(r => r.Value.GetProperty("eval_per_epoch").EnumerateArray()).ToList();
        Assert.NotEmpty(evals);
        var dev = FineTuning.Data.Datasets.LoadDataset("glue", "mrpc", dataDir: SharedFixtures.Path("assets", "mrpc"))["validation"];
        var labels = dev.Column<long>("label").Select(l => (double)l).ToArray();
        var allPositive = new EvalPrediction(labels.SelectMany(_ => new[] { 0f, 1f }).ToArray(), labels, NumLabels: 2);
        var ours = GlueMetric.For("mrpc")(allPositive);
        foreach (var e in evals.Where(e => Math.Abs(e.GetProperty("eval_accuracy").GetDouble() - 279.0 / 408) < 1e-12))
        {
            Assert.Equal(e.GetProperty("eval_accuracy").GetDouble(), ours["accuracy"], 15);
            Assert.Equal(e.GetProperty("eval_f1").GetDouble(), ours["f1"], 15);
        }
        Assert.Contains(evals, e => Math.Abs(e.GetProperty("eval_f1").GetDouble() - ours["f1"]) < 1e-15);
    }

    [Fact]
    public void Mismatched_Lengths_Are_A_Clear_Error()
        => Assert.Contains("same length", Assert.Throws<ArgumentException>(() => Metrics.Accuracy([1, 0], [1])).Message);
}
