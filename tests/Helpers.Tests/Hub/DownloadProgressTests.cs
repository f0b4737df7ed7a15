using FineTuning.Hub;

namespace FineTuning.Tests.Hub;

/// <summary>The download progress report and its two displays: tqdm's line on a console, HTML in a notebook.</summary>
public class DownloadProgressTests
{
    static DownloadProgress At(long done, long? total, double seconds, long resumed = 0, bool complete = false, string name = "model.safetensors") => new()
    {
        FileName = name, RepoId = "google-bert/bert-base-uncased", BytesDownloaded = done, TotalBytes = total,
        ResumedFrom = resumed, Elapsed = TimeSpan.FromSeconds(seconds), IsComplete = complete,
    };

    [Theory]
    [InlineData(5, "5.00")]
    [InlineData(589, "589")]
    [InlineData(999.4, "999")]
    [InlineData(999.5, "1.00k")]
    [InlineData(33_492_760, "33.5M")]
    [InlineData(440_473_133, "440M")]
    [InlineData(1_234_000_000, "1.23G")]
    public void Sizes_Are_Formatted_As_Tqdm_Does(double bytes, string text) => Assert.Equal(text, DownloadProgress.FormatSize(bytes));

    [Fact]
    public void Speed_And_Time_Left_Count_Only_This_Attempts_Bytes()
    {
        var p = At(done: 30_000_000, total: 40_000_000, seconds: 2, resumed: 10_000_000);
        Assert.Equal(10_000_000, p.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(1), p.Eta);
        Assert.Equal(0.75, p.Fraction);
        Assert.Equal("model.safetensors:  75%|###############-----| 30.0M/40.0M [00:02<00:01, 10.0MB/s]", p.ToProgressLine());
        Assert.Null(At(0, 100, 0).BytesPerSecond);
        Assert.Equal("model.safetensors:   0%|--------------------| 0.00/100 [00:00<?, ?B/s]", At(0, 100, 0).ToProgressLine());
        Assert.Equal("model.safetensors: 1.50kB [00:01, 1.50kB/s]", At(1500, null, 1).ToProgressLine());
    }

    [Fact]
    public void Console_Redirected_Writes_Lines_At_Steps_And_The_End()
    {
        var writer = new StringWriter();
        var display = new ConsoleDownloadProgress(writer, interactive: false, redirectedPercentStep: 50);
        display.Report(At(0, 1000, 0));                   // nothing yet
        display.Report(At(100, 1000, 1));                 // first bytes: 10%
        display.Report(At(200, 1000, 2));                 // same step
        display.Report(At(600, 1000, 3));                 // 60%
        display.Report(At(1000, 1000, 4, complete: true));
        display.Report(At(10, 10, 0.01, complete: true, name: "config.json")); // a small file: its last line only
        Assert.Equal(
            [
                "model.safetensors:  10%|##------------------| 100/1.00k [00:01<00:09, 100B/s]",
                "model.safetensors:  60%|############--------| 600/1.00k [00:03<00:02, 200B/s]",
                "model.safetensors: 100%|####################| 1.00k/1.00k [00:04<00:00, 250B/s]",
                "config.json: 100%|####################| 10.0/10.0 [00:00<00:00, 1.00kB/s]",
            ],
            writer.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Console_Interactive_Redraws_One_Line_And_Ends_It_When_Complete()
    {
        var writer = new StringWriter();
        var display = new ConsoleDownloadProgress(writer, interactive: true);
        display.Report(At(500, 1000, 1));
        display.Report(At(1000, 1000, 2, complete: true));
        var text = writer.ToString();
        Assert.StartsWith("\rmodel.safetensors:  50%", text);
        Assert.Contains("\rmodel.safetensors: 100%", text);
        Assert.EndsWith(Environment.NewLine, text);
        Assert.Single(text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Notebook_Shows_A_Row_Per_File_With_Escaped_Names()
    {
        string html = "";
        var display = new NotebookDownloadProgress(h => html = h);
        display.Report(At(1000, 1000, 1, complete: true, name: "config<1>.json"));
        display.Report(At(250, 1000, 1));
        display.Report(At(500, 1000, 2));
        Assert.Equal(2, html.Split("<progress").Length - 1);
        Assert.Contains("config&lt;1&gt;.json: <progress value='1000' max='1000'", html);
        Assert.Contains("model.safetensors: <progress value='500' max='1000'", html);
        Assert.Contains("500/1.00k [00:02&lt;00:02, 250B/s]", html);
        Assert.DoesNotContain("value='250'", html);
    }
}
