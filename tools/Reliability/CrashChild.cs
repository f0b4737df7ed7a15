using System.Collections;
using FineTuning.Data;
using FineTuning.Models.Bert;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Reliability;

/// <summary>
/// The process the crash-and-resume test kills: trains a tiny BERT classifier on a synthetic task for
/// <see cref="MaxSteps"/> steps with a checkpoint every <see cref="SaveSteps"/>, resuming from the last checkpoint in
/// the output folder when there is one, and finally saves the model to <c>{output}/final</c>. Deterministic on the
/// CPU (dropout on, so the RNG state must be restored too), so every interrupted-and-resumed run must end with the
/// bytes of an uninterrupted one.
/// </summary>
/// <remarks>
/// Talks to the test on standard output, one line each: <c>BEGIN {step}</c> when training starts (0, or the step of
/// the checkpoint it resumed from), <c>STEP {n}</c> after each optimizer step, <c>DONE</c>. With <c>RELIABILITY_PAUSE_AT_WRITE=k</c> it stops at the
/// k-th write event of a checkpoint (a chunk of a file written into the hidden <c>.checkpoint-N.*.tmp</c> folder, or
/// the rename that publishes a file or the folder), prints <c>PAUSED {event} {path}</c> and waits to be killed: a kill
/// in the middle of writing a checkpoint, at an exact point.
/// </remarks>
public static class CrashChild
{
    public const int MaxSteps = 100;
    public const int SaveSteps = 2;
    public const string FinalFolder = "final";
    public const string PauseVariable = "RELIABILITY_PAUSE_AT_WRITE";

    public static int Run(string outputDir)
    {
        var pauseAt = int.TryParse(Environment.GetEnvironmentVariable(PauseVariable), out var k) ? k : 0;
        if (pauseAt > 0) InstallPause(pauseAt);

        using var model = Model();
        var trainer = new Trainer(model, Args(outputDir), MarkerTask(96, seed: 3),
            callbacks: [new StepPrinter()]);
        // Train(true) takes the folder's lock and removes what a killed save left before it picks the last checkpoint.
        trainer.Train(resumeFromCheckpoint: TrainerCheckpoint.GetLastCheckpoint(outputDir) is not null);
        trainer.SaveModel(Path.Combine(outputDir, FinalFolder));
        Console.Out.WriteLine("DONE");
        Console.Out.Flush();
        return 0;
    }

    /// <summary>The arguments of the run: checkpoints every <see cref="SaveSteps"/>, the newest 3 kept, weight
    /// decay, warmup, epochs of 24 steps cut at <see cref="MaxSteps"/> (so resumes land mid-epoch and at epoch ends).</summary>
    public static TrainingArguments Args(string outputDir) => new()
    {
        OutputDir = outputDir,
        UseCpu = true,
        LearningRate = 1e-3,
        WeightDecay = 0.01,
        WarmupSteps = 5,
        PerDeviceTrainBatchSize = 4,
        MaxSteps = MaxSteps,
        SaveStrategy = SaveStrategy.Steps,
        SaveSteps = SaveSteps,
        SaveTotalLimit = 3,
        LoggingSteps = 1,
        DisableTqdm = true,
        Seed = 11,
    };

    static BertForSequenceClassification Model()
    {
        manual_seed(5);
        return new BertForSequenceClassification(new BertConfig
        {
            VocabSize = 24, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 64,
            MaxPositionEmbeddings = 32, HiddenDropoutProb = 0.1, AttentionProbsDropoutProb = 0.1,
        }.WithNumLabels(2));
    }

    /// <summary>Label 1 when the sequence holds token 7 (tests' TinyTraining.MarkerTask, re-stated here).</summary>
    static Dataset MarkerTask(int count, int seed)
    {
        var random = new Random(seed);
        var ids = new List<int[]>();
        var labels = new List<int>();
        for (int i = 0; i < count; i++)
        {
            int length = random.Next(3, 11);
            var body = Enumerable.Range(0, length).Select(_ => NonMarker(random)).ToArray();
            if (i % 2 == 1) body[random.Next(length)] = 7;
            ids.Add([1, .. body, 2]);
            labels.Add(i % 2);
        }
        return Dataset.FromColumns(new Dictionary<string, IList> { ["input_ids"] = ids, ["label"] = labels });

        static int NonMarker(Random random)
        {
            int t;
            do t = random.Next(3, 24); while (t == 7);
            return t;
        }
    }

    sealed class StepPrinter : TrainerCallback
    {
        public override void OnTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control)
        {
            Console.Out.WriteLine($"BEGIN {state.GlobalStep}");
            Console.Out.Flush();
        }

        public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control)
        {
            Console.Out.WriteLine($"STEP {state.GlobalStep}");
            Console.Out.Flush();
        }
    }

    // ---- stopping at an exact point of a checkpoint write ----------------------------------------------------------

    static int events;

    static void InstallPause(int at)
    {
        void Event(string what, string path)
        {
            if (++events != at) return;
            Console.Out.WriteLine($"PAUSED {what} {path}");
            Console.Out.Flush();
            Thread.Sleep(Timeout.Infinite); // the test kills us here
        }
        static bool InCheckpoint(string path) =>
            Path.GetFileName(Path.GetDirectoryName(path)) is { } dir && dir.StartsWith(".checkpoint-", StringComparison.Ordinal)
            || Path.GetFileName(path).StartsWith("checkpoint-", StringComparison.Ordinal);

        FileWriteHooks.WrapStream = (path, stream) => InCheckpoint(path) ? new PausingStream(stream, () => Event("write", path)) : stream;
        FileWriteHooks.BeforeRename = path =>
        {
            if (InCheckpoint(path)) Event("rename", path);
        };
    }

    /// <summary>Calls <c>beforeWrite</c> before passing each write on: a stop there leaves the file half written.</summary>
    sealed class PausingStream(Stream inner, Action beforeWrite) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            beforeWrite();
            inner.Write(buffer);
            inner.Flush(); // what was written before a stop is in the file, as a crash would leave it
        }
    }
}
