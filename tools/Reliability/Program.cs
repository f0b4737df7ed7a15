// The reliability programs (README, "Reliability"):
//   dotnet run -c Release --project tools/Reliability -- soak [--steps 10000] [--every 100] [--shape bert-tiny|tiny]
//   dotnet run --project tools/Reliability -- crash-child <output dir>   (started and killed by CrashResumeTests)
using FineTuning.Native;
using FineTuning.Reliability;

TorchSharpNative.Load();
return args.FirstOrDefault() switch
{
    "crash-child" when args.Length == 2 => CrashChild.Run(args[1]),
    "soak" => Soak.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: FineTuning.Reliability soak [--steps N] [--every N] [--print-every N] [--warmup N] [--shape bert-tiny|tiny] [--save-steps N]");
    Console.Error.WriteLine("       FineTuning.Reliability crash-child <output dir>");
    return 2;
}
