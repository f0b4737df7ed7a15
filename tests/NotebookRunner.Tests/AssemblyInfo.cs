// The runner tests redirect the console and change the current directory (as a kernel does), and the lesson tests
// start a runner process that needs the two cores: one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
