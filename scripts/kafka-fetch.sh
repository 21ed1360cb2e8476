#!/usr/bin/env bash
# Fetches an Apache Kafka broker (the kafka_2.13 jar and its runtime dependencies) from Maven
# Central into a cache, for the test harness (test/harness/kafka.ts) to run as a private KRaft
# node. Neither Debian nor npm packages a broker; this needs java (17+) and mvn.
#
# Idempotent: a marker file per version makes a second run a no-op. Prints the libs directory.
# The version and cache directory must match test/harness/kafka.ts.
set -euo pipefail

KAFKA_VERSION="${SIGHTLINE_KAFKA_VERSION:-4.1.1}"
# Kafka 4.1 ships log4j 2.24.3 but no SLF4J binding in its pom (the distribution adds one).
LOG4J_VERSION="2.24.3"
CACHE_DIR="${SIGHTLINE_KAFKA_CACHE:-${HOME}/.cache/sightline-kafka}"
DIR="${CACHE_DIR}/${KAFKA_VERSION}"
LIBS="${DIR}/libs"
MARKER="${DIR}/.complete"

if [ -f "$MARKER" ]; then
  echo "$LIBS"
  exit 0
fi

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "kafka-fetch: $tool is not installed (apt-get install openjdk-17-jre-headless maven)" >&2
    exit 1
  fi
done

mkdir -p "$DIR"
rm -rf "$LIBS"
cat >"${DIR}/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.sightline.test</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
POM

mvn -q -B -f "${DIR}/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$LIBS" >&2
if ! ls "$LIBS"/kafka_2.13-"${KAFKA_VERSION}".jar >/dev/null 2>&1; then
  echo "kafka-fetch: mvn finished but ${LIBS} has no kafka_2.13-${KAFKA_VERSION}.jar" >&2
  exit 1
fi
touch "$MARKER"
echo "$LIBS"
