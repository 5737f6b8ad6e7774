namespace CurWorkflows.Benchmarks;

/// <summary>A benchmark command: prints its figures and returns the process exit code.</summary>
public interface IBenchmark
{
    string Name { get; }

    string Description { get; }

    Task<int> RunAsync(string[] args);
}
