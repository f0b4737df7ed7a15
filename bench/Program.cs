// The benchmark of issue 9: ours against PyTorch eager and the Hugging Face Trainer on this machine, and against the
// machine's own matmul ceiling. Run it through bench/run.sh (it installs Debian's python3-torch with OpenBLAS when
// missing and sets OMP_WAIT_POLICY=PASSIVE); docs/performance.md shows the latest report.
//   bench/run.sh [--quick] [--parts abcdef] [--rounds N] [--threads N] [--out DIR]
using System.Diagnostics;
using System.Text.Json;
using FineTuning;
using FineTuning.Benchmarks;
using FineTuning.Native;
using TorchSharp;
using static TorchSharp.torch;

Options o;
try
{
    o = Options.Parse(args);
}
catch (HelpRequested)
{
    Console.WriteLine(Options.Usage);
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}\n\n{Options.Usage}");
    return 2;
}

TorchSharpNative.Load();
torch.set_num_threads(o.Threads);
Logging.Verbosity = LogLevel.Warning;

if (o.Child == "memory")
{
    var memory = MemoryResult.Measure(o, new Mrpc(o.Shared));
    AtomicFile.WriteAllText(o.ChildOut!, JsonSerializer.Serialize(memory));
    return 0;
}

if (o.Child == "real")
{
    var real = RealModelResult.MeasureHere(o, o.ChildVariant ?? RealModelResult.Same);
    AtomicFile.WriteAllText(o.ChildOut!, JsonSerializer.Serialize(real));
    return 0;
}

if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not "PASSIVE")
    Console.Error.WriteLine("warning: OMP_WAIT_POLICY is not PASSIVE: libgomp's spin-waiting makes 2-core timings 15-40x slower and noisy. Use bench/run.sh.");

var wall = Stopwatch.StartNew();
using (var probe = ones(2, 2).matmul(ones(2, 2))) { } // make sure libtorch is mapped before looking
var mapped = Machine.MappedLibTorch();
var run = new RunInfo(DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'"), Machine.Describe(), o.Threads,
    Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "(unset)", Machine.LoadAverage(), [], mapped,
    TorchSharpNative.LoadedFrom, o.Quick, "bench/run.sh" + (args.Length > 0 ? " " + string.Join(' ', args) : ""), 0);
Console.WriteLine($"Machine: {run.Machine}; {o.Threads} threads; load average {string.Join(" ", run.LoadBefore)}");
Console.WriteLine($"libtorch_cpu.so mapped: {string.Join(", ", mapped)}");
if (mapped.Count != 1 || TorchSharpNative.LoadedFrom is { } dir && !mapped[0].StartsWith(dir, StringComparison.Ordinal))
{
    Console.Error.WriteLine($"error: this process must run TorchSharp's own libtorch (from {TorchSharpNative.LoadedFrom}), but maps: {string.Join(", ", mapped)}");
    return 1;
}

var report = new BenchReport { Run = run };
if (o.Runs('a'))
{
    Console.WriteLine("\na. Train step, batch 8 x 128: ours and PyTorch eager alternately");
    foreach (var shape in new[] { BertShape.Tiny, BertShape.Base })
        foreach (var bf16 in new[] { false, true })
            report.TrainSteps.Add(TrainStepResult.Measure(o, shape, bf16));
}
if (o.Runs('b'))
{
    Console.WriteLine("\nb. Matmul ceiling through libtorch");
    int[] sizes = o.Quick ? [1024] : [1024, 2048, 4096];
    report.Ceilings.Add(MatmulCeiling.Measure("Float32", sizes, o.Quick ? 0.5 : 2));
    report.Ceilings.Add(MatmulCeiling.Measure("BFloat16", o.Quick ? [1024] : [1024, 2048], o.Quick ? 0.5 : 2));
    report.Ceilings.Add(MatmulCeiling.Measure("BFloat16 via Autocast", sizes, o.Quick ? 0.5 : 2));
    report.PyTorchMatmul = PyTorchMatmul.Measure(o, 2048);
    Console.WriteLine($"    PyTorch (Debian 1.13) 2048x2048: fp32 {report.PyTorchMatmul.Float32Gflops:F0}, bf16 {report.PyTorchMatmul.BFloat16Gflops:F0} GFLOP/s {report.PyTorchMatmul.Error}");
}
if (o.Runs('x'))
{
    Console.WriteLine("\nx. What each change buys (variants taking turns in one process)");
    report.Ablations.Add(AblationResult.Measure(BertShape.Tiny, o.Quick ? 5 : 30));
    report.Ablations.Add(AblationResult.Measure(BertShape.Base, o.Quick ? 1 : 3));
}
if (o.Runs('p'))
{
    Console.WriteLine("\np. Where a train step's time goes (batch 8 x 128; dropout on and off taking turns)");
    foreach (var shape in new[] { BertShape.Base, StepProfileResult.MiniLM })
        foreach (var bf16 in Machine.HasNativeBf16() ? new[] { false, true } : [false])
            if (o.ProfileOnly is null || o.ProfileOnly.Split(',').Contains($"{shape.Name}:{(bf16 ? "bf16" : "fp32")}"))
                report.Profiles.Add(StepProfileResult.Measure(shape, bf16, o.Quick ? 1 : 3));
}
Mrpc? mrpc = o.Runs('c') || o.Runs('d') ? new Mrpc(o.Shared) : null;
if (o.Runs('c'))
{
    Console.WriteLine("\nc. MRPC epoch (bert-tiny shape, batch 8) through the Trainer");
    report.Epoch = EpochResult.Measure(o, mrpc!);
}
if (o.Runs('d'))
{
    Console.WriteLine("\nd. Tokenizer throughput");
    report.Tokenizer = TokenizerResult.Measure(o, mrpc!);
    Console.WriteLine($"    {report.Tokenizer.PairsPerSecond.Format("F0")} pairs/s");
}
if (o.Runs('e'))
{
    Console.WriteLine($"\ne. Memory over {o.MemorySteps} bert-tiny steps (a fresh process)");
    report.Memory = MemoryResult.MeasureInChild(o);
}
if (o.Runs('f'))
{
    Console.WriteLine("\nf. LoRA against full fine-tuning: trainable parameters, AdamW state, step time (fp32)");
    foreach (var shape in new[] { BertShape.Tiny, BertShape.Base })
        report.Lora.Add(LoraCostResult.Measure(o, shape));
}
if (o.Runs('g'))
{
    Console.WriteLine($"\ng. The real model ({o.Model ?? "no --model"}) on MRPC: our Trainer and Hugging Face's, taking turns");
    report.RealModel = RealModelResult.Measure(o);
    if (report.RealModel.Error is { } why) Console.WriteLine($"    not measured: {why}");
}
report.Run = run with { LoadAfter = Machine.LoadAverage(), WallSeconds = wall.Elapsed.TotalSeconds };

Directory.CreateDirectory(o.OutDir);
var markdown = Report.Markdown(report);
AtomicFile.WriteAllText(Path.Combine(o.OutDir, "report.md"), markdown);
AtomicFile.WriteAllText(Path.Combine(o.OutDir, "report.json"),
    JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
Console.WriteLine("\n" + markdown);
Console.WriteLine($"Written: {Path.Combine(o.OutDir, "report.md")} and report.json ({wall.Elapsed.TotalMinutes:F1} min)");
return 0;
