using FineTuning.Tests;

namespace FineTuning.NotebookRunner.Tests;

/// <summary>What the main job says before the first notebook: the kernel, then model, data, profile and a rough time,
/// from the FT_* knobs when set and the lessons' own defaults otherwise.</summary>
public class RunPlanTests
{
    static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Helpers.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    static IReadOnlyList<string> Lessons() => Directory.GetFiles(Path.Combine(Root(), "notebooks"), "*.ipynb").Order(StringComparer.Ordinal).ToList();

    static string Describe(Dictionary<string, string> knobs) =>
        string.Join("\n", RunPlan.Describe(KernelTool.Find(AppContext.BaseDirectory), Lessons(), name => knobs.GetValueOrDefault(name)));

    [Fact]
    public void Without_Knobs_It_Names_The_Kernel_And_The_Lessons_Defaults()
    {
        var plan = Describe([]);
        Assert.StartsWith("Kernel: .NET Interactive 1.0.712001", plan);
        if (File.Exists("/dev/nvidiactl") || File.Exists("/dev/nvidia0"))
        {
            Assert.Contains("Model: bert-base-uncased (the lessons' default)", plan);
            Assert.Contains("Data: MRPC from the Hugging Face Hub (the lessons' default); every training pair, every validation pair", plan);
            Assert.Contains("batch 8, 3 epochs per training run", plan);
        }
        else
        {
            // The CPU profile: all-MiniLM-L6-v2, 1.5 epochs (07 and 08: 1 epoch on 800 training pairs) (their own knobs cells).
            Assert.Contains("Model: sentence-transformers/all-MiniLM-L6-v2 (the lessons' CPU default)", plan);
            Assert.Contains("Data: MRPC from the Hugging Face Hub (the lessons' CPU default); every training pair, every validation pair", plan);
            Assert.Contains("Profile: CPU (FT_DEVICE=auto, no NVIDIA GPU visible), batch 8, 1.5 epochs per training run", plan);
            Assert.Matches(@"Roughly: \d+ training runs, [\d,]+ steps in all; at about 0.8 s per all-MiniLM-L6-v2 step on 2 CPU cores that is \d+ minutes", plan);
        }
    }

    [Fact]
    public void With_FT_DEVICE_Cpu_The_Lessons_CPU_Profile_Is_Described()
    {
        var plan = Describe(new() { ["FT_DEVICE"] = "cpu" });
        Assert.Contains("Model: sentence-transformers/all-MiniLM-L6-v2 (the lessons' CPU default)", plan);
        Assert.Contains("batch 8, 1.5 epochs per training run", plan);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void With_CIs_Knobs_It_Names_Them_And_Expects_Minutes()
    {
        var plan = Describe(new()
        {
            ["FT_MODEL"] = SharedFixtures.Path("fixtures", "pretrained-tiny"),
            ["FT_DATA_DIR"] = SharedFixtures.Path("assets", "mrpc"),
            ["FT_MAX_TRAIN_SAMPLES"] = "64",
            ["FT_MAX_EVAL_SAMPLES"] = "32",
            ["FT_EPOCHS"] = "2",
            ["FT_DEVICE"] = "cpu",
        });
        Assert.Contains($"Model: {SharedFixtures.Path("fixtures", "pretrained-tiny")} (FT_MODEL is set)", plan);
        Assert.Contains("the first 64 training pairs, the first 32 validation pairs", plan);
        Assert.Contains("Profile: CPU (FT_DEVICE=cpu), batch 8, 2 epochs per training run", plan);
        Assert.Contains("Roughly: a few minutes (a small model, hidden size 128", plan);
    }
}
