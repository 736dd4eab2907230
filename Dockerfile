# SecureFed: one image, `securefed coordinator` and `securefed agent` as commands (deploy/README.md).
#
# Build stage: the .NET 10 SDK image. Run stage: the ASP.NET Core 10 runtime image. Both are Ubuntu 24.04
# ("noble") based, whose libstdc++ already has GLIBCXX_3.4.32, so the repository's TorchSharp workaround for
# Debian 12 (Directory.Build.targets, build/torchsharp-debian12/) finds nothing to do with the default
# SecureFedTorchSharpFix=auto: nothing is patched and g++ is not needed here. Only a build for a Debian 12 *runtime*
# would need it: pass --build-arg TORCHSHARP_FIX=always and add g++ to the build stage
# (apt-get install -y --no-install-recommends g++); the run stage then needs nothing extra.

ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
ARG TORCHSHARP_FIX=auto
WORKDIR /src
# Only what the CLI's build needs (see .dockerignore: no bin/, obj/, runs/ or keys reach the context).
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY build/ build/
COPY protos/ protos/
COPY src/ src/
RUN dotnet restore src/SecureFed.Cli/SecureFed.Cli.csproj -r linux-x64
RUN dotnet publish src/SecureFed.Cli/SecureFed.Cli.csproj --no-restore -c Release -r linux-x64 --self-contained false \
      -p:SecureFedTorchSharpFix=${TORCHSHARP_FIX} -o /app

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS runtime
# Non-root user 10001; state lives under /var/lib/securefed (a volume), so the root filesystem can be read-only
# (compose: read_only: true plus a tmpfs on /tmp; DOTNET_EnableDiagnostics=0 keeps the runtime from creating its
# diagnostic IPC socket). The build stage's commands were checked outside Docker (on Debian 12, where the TorchSharp fix
# applies): they produce /app, and its apphost, run through a symlink as below, runs a federation.
RUN groupadd --gid 10001 securefed \
 && useradd --uid 10001 --gid 10001 --home-dir /var/lib/securefed --no-create-home --shell /usr/sbin/nologin securefed \
 && mkdir -p /var/lib/securefed /etc/securefed \
 && chown 10001:10001 /var/lib/securefed
COPY --from=build /app /app
# The bundled studies and data (the demo silos each read their own export under data/hospitals/); a real silo mounts its own file.
COPY data/ /usr/share/securefed/data/
RUN ln -s /app/securefed /usr/local/bin/securefed
ENV DOTNET_ROOT=/usr/share/dotnet \
    HOME=/var/lib/securefed \
    DOTNET_EnableDiagnostics=0
VOLUME ["/var/lib/securefed"]
WORKDIR /var/lib/securefed
USER 10001:10001
EXPOSE 7443
ENTRYPOINT ["securefed"]
CMD ["--help"]
