using FineTuning.FineTune;

namespace FineTuning.Tests.FineTune;

/// <summary>HF Trainer's save_metrics / log_metrics formats and run_glue's predict_results file.</summary>
public class MetricsFilesTests
{
    [Fact]
    public void Save_metrics_is_json_dump_indent_4_sorted()
    {
        var metrics = new Dictionary<string, double>
        {
            ["eval_loss"] = 0.5, ["epoch"] = 3.0, ["eval_samples"] = 408, ["total_flos"] = 1.2e16, ["eval_accuracy"] = 0.8602941176470589,
        };
        // python: json.dumps({...}, indent=4, sort_keys=True)
        Assert.Equal("{\n    \"epoch\": 3.0,\n    \"eval_accuracy\": 0.8602941176470589,\n    \"eval_loss\": 0.5,\n"
            + "    \"eval_samples\": 408,\n    \"total_flos\": 1.2e+16\n}", MetricsFiles.ToJson(metrics));
    }

    [Fact]
    public void All_results_merges_the_splits()
    {
        using var dir = new TempFolder();
        MetricsFiles.SaveMetrics(dir.Path, "train", new Dictionary<string, double> { ["train_loss"] = 0.25, ["epoch"] = 1.0 });
        MetricsFiles.SaveMetrics(dir.Path, "eval", new Dictionary<string, double> { ["eval_loss"] = 0.5, ["epoch"] = 1.0 });
        Assert.Equal("{\n    \"epoch\": 1.0,\n    \"train_loss\": 0.25\n}", File.ReadAllText(dir.File("train_results.json")));
        Assert.Equal("{\n    \"epoch\": 1.0,\n    \"eval_loss\": 0.5,\n    \"train_loss\": 0.25\n}", File.ReadAllText(dir.File("all_results.json")));
        Assert.Empty(dir.TempFiles());
    }

    [Fact]
    public void Log_metrics_is_hfs_table()
    {
        var metrics = new Dictionary<string, double>
        {
            ["epoch"] = 3.0, ["train_runtime"] = 125.4567, ["total_flos"] = 4.5 * (1L << 30), ["train_samples"] = 3668, ["train_loss"] = 0.51234567,
        };
        Assert.Equal(
            "***** train metrics *****\n"
            + "  epoch         =        3.0\n"
            + "  total_flos    =        4GF\n"
            + "  train_loss    =     0.5123\n"
            + "  train_runtime = 0:02:05.45\n"
            + "  train_samples =       3668\n",
            MetricsFiles.LogMetrics("train", metrics));
    }

    [Theory]
    [InlineData(0.12345, "0.123")]
    [InlineData(-1.5, "-1.500")]
    [InlineData(12.3456, "12.346")]
    [InlineData(0.0005, "0.001")]   // 0.0005 is stored as 0.000500000000000000010...: Python rounds it up too
    public void Regression_predictions_are_formatted_3_3f(double value, string expected) =>
        Assert.Equal(expected, MetricsFiles.Score(value));

    [Fact]
    public void Predict_results_has_run_glues_header() =>
        Assert.Equal("index\tprediction\n0\tequivalent\n1\tnot_equivalent\n", MetricsFiles.PredictResults(["equivalent", "not_equivalent"]));
}
