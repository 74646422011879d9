# syntax=docker/dockerfile:1
# Gatehouse: a static, CGO-free binary on an empty image, run as a non-root
# user. Build:  docker build --build-arg VERSION=$(git describe --tags --always) -t gatehouse .
# Run:          docker run -p 8080:8080 -v gatehouse-data:/data -e GATEHOUSE_MASTER_KEY_FILE=... gatehouse
# (deploy/compose.yaml: PostgreSQL and two replicas.) CI builds the binary
# with the same scripts/build.sh (.ci/run, "release build").

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
RUN VERSION="$VERSION" COMMIT="$COMMIT" scripts/build.sh /out/gatehouse \
 && /out/gatehouse version \
 && mkdir -p /out/data && chown 65532:65532 /out/data && chmod 0700 /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/gatehouse /gatehouse
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# Every serve flag has a GATEHOUSE_* variable (gatehouse serve --help).
ENV GATEHOUSE_ADDR=0.0.0.0:8080 \
    GATEHOUSE_DATA=/data \
    GATEHOUSE_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/gatehouse", "health", "--server", "http://127.0.0.1:8080", "--timeout", "2s"]
ENTRYPOINT ["/gatehouse"]
CMD ["serve"]
