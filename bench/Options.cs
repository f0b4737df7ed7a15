namespace FineTuning.Benchmarks;

/// <summary>
/// Command line of the benchmark (bench/run.sh passes its arguments through):
/// <code>
///   --quick            a smoke run (a few steps of everything, ~3 minutes)
///   --parts abcdefg    which parts to run (a train step, b ceiling, c MRPC epoch, d tokenizer, e memory, f LoRA, g real model;
///                      x, not in the default: what each optimisation of bench/NOTES.md buys, before/after)
///   --rounds N         alternating ours/PyTorch runs per train-step figure (default 3)
///   --epoch-runs N     runs of each MRPC epoch variant (default 3)
///   --threads N        intra-op threads of both stacks (default OMP_NUM_THREADS, else the core count)
///   --out DIR          where report.md and report.json go (default bench/results)
///   --shared DIR       the shared folder with bench/, assets/, fixtures/ (default ../shared beside the repository)
///   --python PATH      the interpreter with Debian's torch (default /usr/bin/python3)
///   --model DIR, --target X, --real-epochs N, --real-rounds N: part g (the real model against HF's Trainer)
/// </code>
/// </summary>
public sealed record Options
{
    public bool Quick { get; init; }
    public string Parts { get; init; } = "abcdefg";
    public int Rounds { get; init; } = 3;
    public int EpochRuns { get; init; } = 3;
    public int Threads { get; init; } = DefaultThreads();
    public string OutDir { get; init; } = Path.Combine(RepoRoot, "bench", "results");
    public string Shared { get; init; } = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
    public string Python { get; init; } = "/usr/bin/python3";
    /// <summary>Internal: run one part in this (child) process and write its JSON result here.</summary>
    public string? Child { get; init; }
    public string? ChildOut { get; init; }
    public string? ChildVariant { get; init; }
    /// <summary>Part g: the Hugging Face folder of all-MiniLM-L6-v2 (or another BERT); default FINETUNING_MINILM.</summary>
    public string? Model { get; init; } = Environment.GetEnvironmentVariable("FINETUNING_MINILM") is { Length: > 0 } m ? Path.GetFullPath(m) : null;
    /// <summary>Part g: dev accuracy that ends a run (HF's 3-epoch result on MRPC).</summary>
    public double Target { get; init; } = 0.80;
    /// <summary>Part g: the most epochs a run takes (the schedule's length).</summary>
    public int RealEpochs { get; init; } = 3;
    /// <summary>Part g: rounds of ours / HF / ours fast, taking turns.</summary>
    public int RealRounds { get; init; } = 1;
    /// <summary>Part p: only these "shape:precision" pairs (e.g. "base:bf16"), comma-separated; null for all.</summary>
    public string? ProfileOnly { get; init; }

    public bool Runs(char part) => Parts.Contains(part);

    // Steps per run. bert-base steps take seconds on 2 cores: few of them, so the whole benchmark stays under 20 minutes.
    public int TinyWarmup => Quick ? 2 : 5;
    public int TinySteps => Quick ? 5 : 30;
    public int BaseWarmup => 1;
    public int BaseSteps => Quick ? 1 : 2;
    public int MemorySteps => Quick ? 200 : 1000;
    public int TokenizerRuns => Quick ? 1 : 5;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() { var s = Value(); return int.TryParse(s, out var v) && v > 0 ? v : throw new ArgumentException($"{args[i - 1]} needs a positive integer, got '{s}'"); }
            o = args[i] switch
            {
                "--quick" => o with { Quick = true, Rounds = 1, EpochRuns = 1 },
                "--parts" => o with { Parts = Value() },
                "--rounds" => o with { Rounds = Int() },
                "--epoch-runs" => o with { EpochRuns = Int() },
                "--threads" => o with { Threads = Int() },
                "--out" => o with { OutDir = Path.GetFullPath(Value()) },
                "--shared" => o with { Shared = Path.GetFullPath(Value()) },
                "--python" => o with { Python = Value() },
                "--child" => o with { Child = Value() },
                "--child-out" => o with { ChildOut = Value() },
                "--child-variant" => o with { ChildVariant = Value() },
                "--model" => o with { Model = Path.GetFullPath(Value()) },
                "--target" => o with { Target = double.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) },
                "--real-epochs" => o with { RealEpochs = Int() },
                "--real-rounds" => o with { RealRounds = Int() },
                "--profile-only" => o with { ProfileOnly = Value() },
                "-h" or "--help" => throw new HelpRequested(),
                _ => throw new ArgumentException($"unknown argument '{args[i]}' (see --help)"),
            };
        }
        if (o.Parts.Any(c => !"abcdefgpx".Contains(c))) throw new ArgumentException($"--parts takes letters of 'abcdefgpx', got '{o.Parts}'");
        return o;
    }

    public const string Usage = """
        FineTuning.Benchmarks — ours against PyTorch eager and the Hugging Face Trainer, on this machine.
          --quick            a smoke run (a few steps of everything)
          --parts abcdefg    a train step, b matmul ceiling, c MRPC epoch, d tokenizer, e memory, f LoRA vs full
                             fine-tuning, g the real model (--model) through our Trainer and HF's (default all);
                             x (opt-in): before/after of each optimisation in bench/NOTES.md
                             p (opt-in): where a bert-base / MiniLM step's time goes, per phase, dropout on/off
          --rounds N         alternating ours/PyTorch runs per train-step figure (default 3)
          --epoch-runs N     runs of each MRPC epoch variant (default 3)
          --threads N        intra-op threads of both stacks (default OMP_NUM_THREADS, else the core count)
          --out DIR          where report.md and report.json go (default bench/results)
          --shared DIR       the shared folder (default ../shared beside the repository)
          --python PATH      the interpreter with Debian's python3-torch (default /usr/bin/python3)
          --model DIR        part g: all-MiniLM-L6-v2 as a Hugging Face folder (default $FINETUNING_MINILM)
          --target X         part g: the dev accuracy a run stops at (default 0.80)
          --real-epochs N    part g: at most N epochs, the schedule's length (default 3)
          --real-rounds N    part g: rounds of ours / HF / ours fast, taking turns (default 1)
          --profile-only L   part p: only these shape:precision pairs, e.g. base:bf16,minilm:fp32
        """;

    static int DefaultThreads() =>
        int.TryParse(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"), out var n) && n > 0 ? n : Environment.ProcessorCount;

    /// <summary>The repository root: the folder above the build output that holds Helpers.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    static string FindRepoRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Helpers.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}

public sealed class HelpRequested : Exception;
