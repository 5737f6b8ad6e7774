namespace CurWorkflows.Service.Extensions;

/// <summary>Turns the service's flags into configuration keys (the command-line provider needs key=value).</summary>
public static class ServiceArguments
{
    public static string[] Normalize(string[] args) =>
        args.Select(arg => arg switch
        {
            "--demo" => "--Demo:Enabled=true",
            "--api" => "--Host:Role=Api",
            "--worker" => "--Host:Role=Worker",
            _ => arg,
        }).ToArray();
}
