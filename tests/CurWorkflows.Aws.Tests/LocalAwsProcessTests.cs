using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CurWorkflows.Aws.Tests;

/// <summary>The local endpoint run as a process (`dotnet run --project src/CurWorkflows.LocalAws`).</summary>
public sealed class LocalAwsProcessTests
{
    [Fact]
    public async Task Sigterm_stops_the_endpoint_and_frees_its_port()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        // Its output is read (and dropped) as it comes: a child writing into a pipe nobody reads blocks when it fills.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CurWorkflows.LocalAws.dll"));
        start.ArgumentList.Add($"--LocalAws:Port={port}");
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (!await AcceptsConnectionsAsync(port))
            {
                Assert.False(process.HasExited, "the endpoint stopped before it listened");
                Assert.True(DateTime.UtcNow < deadline, "the endpoint did not listen within a minute");
                await Task.Delay(100);
            }

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, process.ExitCode);
            using var again = new TcpListener(IPAddress.Loopback, port);
            again.Start();
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    private static async Task<bool> AcceptsConnectionsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
