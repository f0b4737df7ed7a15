// finetune: fine-tune a BERT checkpoint on a GLUE task or on your own files, with run_glue.py's arguments.
//   dotnet run -c Release --project src/FineTune -- --help
// The program is FineTuneProgram.Run; this file only loads TorchSharp's native libraries and turns the first Ctrl+C
// into "save a checkpoint at the end of this step and stop" (a second Ctrl+C quits at once, without saving).
// Start it with OMP_WAIT_POLICY=PASSIVE on small machines: libtorch's OpenMP threads otherwise spin-wait.
using FineTuning.FineTune;
using FineTuning.Native;

TorchSharpNative.Load();
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (interrupt.IsCancellationRequested) return;   // the second Ctrl+C ends the process
    e.Cancel = true;
    interrupt.Cancel();
    Console.Error.WriteLine("\nCtrl+C: finishing this step, then saving a checkpoint and stopping (Ctrl+C again quits at once, without saving).");
};
return FineTuneProgram.Run(args, Console.Out, Console.Error, interrupt.Token);
