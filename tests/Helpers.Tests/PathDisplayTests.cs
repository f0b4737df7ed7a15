using FineTuning.Data;
using FineTuning.Models;
using FineTuning.Tokenizers;

namespace FineTuning.Tests;

/// <summary>A relative path that is not found is reported with the absolute path tried: the lessons' knobs (FT_DATA_DIR,
/// FT_MODEL) are relative to notebooks/, a command's arguments to the shell's folder, and the message must say which.</summary>
public class PathDisplayTests
{
    [Fact]
    public void Absolute_paths_are_shown_as_they_are_relative_ones_with_the_path_tried()
    {
        var absolute = Path.Combine(Path.GetTempPath(), "x");
        Assert.Equal(absolute, PathDisplay.WithFullPath(absolute));
        Assert.Equal($"../shared/x (= {Path.GetFullPath("../shared/x")})", PathDisplay.WithFullPath("../shared/x"));
    }

    [Fact]
    public void A_missing_relative_data_folder_is_reported_with_its_absolute_path()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => Datasets.LoadDataset("glue", "mrpc", dataDir: "../no-such-mrpc"));
        Assert.Equal($"GLUE mrpc: data folder not found: ../no-such-mrpc (= {Path.GetFullPath("../no-such-mrpc")})", e.Message);
    }

    [Fact]
    public void A_missing_relative_data_file_is_reported_with_its_absolute_path()
    {
        var e = Assert.Throws<FileNotFoundException>(() => Datasets.LoadDataset("csv", dataFiles: new() { ["train"] = "data/no-such.csv" }));
        Assert.Contains($"data/no-such.csv (= {Path.GetFullPath("data/no-such.csv")})", e.Message);
    }

    [Fact]
    public void A_missing_relative_model_folder_is_reported_with_its_absolute_path()
    {
        var model = Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained("../no-such/model", numLabels: 2));
        Assert.StartsWith($"../no-such/model: model folder not found (= {Path.GetFullPath("../no-such/model")}), and not a Hub model id", model.Message);
        var tokenizer = Assert.Throws<CheckpointException>(() => AutoTokenizer.FromPretrained("../no-such/model"));
        Assert.Contains($"(= {Path.GetFullPath("../no-such/model")})", tokenizer.Message);
    }
}
