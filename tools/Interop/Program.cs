// The C# half of tools/interop/run.sh (interop.py drives it and compares with Python's transformers):
//   FineTuning.Interop logits <model folder> <ids.json> <out.json>     our logits for fixed token ids
//   FineTuning.Interop save <model folder> <out folder> [num labels]   FromPretrained + SavePretrained (model, tokenizer)
//   FineTuning.Interop tokenize <model folder> <mrpc folder> <out.jsonl>  our BertTokenizer over MRPC train + dev
//   FineTuning.Interop hub <model folder> <cache folder> <out.json>    our Hub client fills a cache from the stand-in Hub
using FineTuning.Interop;
using FineTuning.Native;

try
{
    return args.FirstOrDefault() switch
    {
        "logits" when args.Length == 4 => WithTorch(() => Commands.Logits(args[1], args[2], args[3])),
        "save" when args.Length is 3 or 4 => WithTorch(() => Commands.Save(args[1], args[2], args.Length == 4 ? int.Parse(args[3]) : null)),
        "tokenize" when args.Length == 4 => Commands.Tokenize(args[1], args[2], args[3]),
        "hub" when args.Length == 4 => WithTorch(() => Commands.Hub(args[1], args[2], args[3])),
        _ => Usage(),
    };
}
catch (Exception e)
{
    Console.Error.WriteLine($"{e.GetType().Name}: {e.Message}");
    return 1;
}

static int WithTorch(Func<int> run)
{
    TorchSharpNative.Load();
    return run();
}

static int Usage()
{
    Console.Error.WriteLine("usage: FineTuning.Interop logits <model folder> <ids.json> <out.json>");
    Console.Error.WriteLine("       FineTuning.Interop save <model folder> <out folder> [num labels]");
    Console.Error.WriteLine("       FineTuning.Interop tokenize <model folder> <mrpc folder> <out.jsonl>");
    Console.Error.WriteLine("       FineTuning.Interop hub <model folder> <cache folder> <out.json>");
    return 2;
}
