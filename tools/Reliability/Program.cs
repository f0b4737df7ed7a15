// The reliability programs (docs/reliability.md):
//   dotnet run -c Release --project tools/Reliability -- soak [--steps 10000] [--every 100] [--shape bert-tiny|tiny]
//   dotnet run --project tools/Reliability -- crash-child <output dir>   (started and killed by CrashResumeTests)
//   dotnet run --project tools/Reliability -- hub-fetch <repo id> <file>  (started in pairs by HubConcurrencyTests)
using FineTuning.Native;
using FineTuning.Reliability;

return args.FirstOrDefault() switch
{
    "crash-child" when args.Length == 2 => WithTorch(() => CrashChild.Run(args[1])),
    "soak" => WithTorch(() => Soak.Run(args[1..])),
    "hub-fetch" when args.Length == 3 => HubFetch.Run(args[1], args[2]), // no libtorch: a download only
    _ => Usage(),
};

static int WithTorch(Func<int> run)
{
    TorchSharpNative.Load();
    return run();
}

static int Usage()
{
    Console.Error.WriteLine("usage: FineTuning.Reliability soak [--steps N] [--every N] [--print-every N] [--warmup N] [--shape bert-tiny|tiny] [--save-steps N]");
    Console.Error.WriteLine("       FineTuning.Reliability crash-child <output dir>");
    Console.Error.WriteLine("       FineTuning.Reliability hub-fetch <repo id> <file>");
    return 2;
}
